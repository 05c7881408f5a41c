// How big each measurement is: the default run (about seven minutes here) and --quick (about one).

export interface Settings {
  /** The whole run's time budget; repetitions that would overrun it are left out (and noted). */
  budgetS: number;
  /** Repetitions of every measurement; figures are their median, min and max. */
  reps: number;
  /** Rows 1, 2: messages per run, calls in flight, and an unmeasured warm-up first. */
  messages: number;
  inFlight: number;
  warmUp: number;
  /** Row 1b/2b: messages per SendBatch / addBulk() call, and calls in flight. */
  batchSize: number;
  batchInFlight: number;
  /** Row 3: Sends at a fixed rate. */
  idleMessages: number;
  idlePerSecond: number;
  /** Row 4: due rows loaded, and rows claimed and finalized per run. */
  backlogSizes: [number, number];
  backlogClaims: number;
  backlogBatch: number;
  /** Row 5: calls per run. */
  rpcCalls: number;
  /** Row 6: WatchOutbox streams, and messages sent (at watchPerSecond) while they watch. */
  watchStreams: number;
  watchMessages: number;
  watchPerSecond: number;
  /** Row 6: idle WatchOutbox streams held open at once, and streams per connection. */
  idleStreams: number;
  streamsPerConnection: number;
  /** Row 6: concurrent Sends, each with one attachment of this size. */
  attachmentSends: number;
  attachmentBytes: number;
  /** Row 8: messages sent as fast as possible (closed loop) to measure webhook events/s, and paced ones for latency. */
  webhookMessages: number;
  webhookPacedMessages: number;
  webhookPerSecond: number;
  /** Row 9: a bulk backlog drained at an account's rate limit, and transactional Sends meanwhile. */
  priorityBacklog: number;
  priorityRate: number;
  priorityMessages: number;
  priorityPerSecond: number;
  /** Row outbox_request: requests committed one at a time at idle, per round (each after a pause of over a second). */
  requestIdleSamples: number;
  /** Row 10: messages per delivered run of plain and of templated Sends (enqueue-only runs use rpcCalls). */
  templateMessages: number;
  /** Longest wait for the sink to accept a run's messages. */
  deliveryTimeoutMs: number;
}

export const DEFAULT_SETTINGS: Settings = {
  budgetS: 420,
  reps: 3,
  messages: 5_000,
  inFlight: 32,
  warmUp: 100,
  batchSize: 100,
  batchInFlight: 4,
  idleMessages: 250,
  idlePerSecond: 50,
  backlogSizes: [10_000, 1_000_000],
  backlogClaims: 5_000,
  backlogBatch: 32,
  rpcCalls: 1_000,
  watchStreams: 1_000,
  // 2 messages/s reach 1,000 streams as 2,000 stream messages/s, which this service sustains on
  // two cores; at 5/s the streams fall behind and the delay measures the queue, not the path.
  watchMessages: 20,
  watchPerSecond: 2,
  idleStreams: 10_000,
  streamsPerConnection: 100,
  attachmentSends: 10,
  attachmentBytes: 25 * 1024 * 1024,
  webhookMessages: 1_000,
  webhookPacedMessages: 250,
  webhookPerSecond: 50,
  priorityBacklog: 10_000,
  priorityRate: 400,
  priorityMessages: 100,
  priorityPerSecond: 20,
  requestIdleSamples: 30,
  templateMessages: 2_000,
  deliveryTimeoutMs: 120_000,
};

export const QUICK_SETTINGS: Settings = {
  ...DEFAULT_SETTINGS,
  budgetS: 70,
  messages: 1_000,
  warmUp: 50,
  idleMessages: 40,
  backlogSizes: [10_000, 100_000],
  backlogClaims: 2_000,
  rpcCalls: 300,
  watchStreams: 200,
  watchMessages: 10,
  idleStreams: 2_000,
  attachmentSends: 3,
  webhookMessages: 300,
  webhookPacedMessages: 100,
  priorityBacklog: 3_000,
  requestIdleSamples: 10,
  templateMessages: 500,
  deliveryTimeoutMs: 60_000,
};
