// Health follows the database: a ping every few seconds on a connection of its own, and
// grpc.health.v1 reports NOT_SERVING while it fails (load balancers then send traffic elsewhere)
// and SERVING again once it answers. After shutdown() the health service ignores both.
import { HealthCheckResponse_ServingStatus as Serving } from "../../../gen/grpc/health/v1/health_pb.js";
import { Periodic } from "../../lib/periodic.js";
import type { Logger } from "../../lib/log.js";
import type { DatabasePing } from "../../db/ping.js";
import type { HealthService } from "./health.js";

export const PROBE_INTERVAL_MS = 2_000;

export class DatabaseProbe {
  private readonly loop: Periodic<void>;
  /** The app starts only after connecting and migrating, so the database starts out reachable. */
  private up = true;

  constructor(
    private readonly ping: DatabasePing,
    private readonly health: HealthService,
    private readonly log: Logger,
    intervalMs = PROBE_INTERVAL_MS,
  ) {
    this.loop = new Periodic(intervalMs, () => this.check());
  }

  get reachable(): boolean {
    return this.up;
  }

  start(): void {
    this.loop.start();
  }

  /** One probe now (or the one under way). */
  runOnce(): Promise<void> {
    return this.loop.runOnce();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.ping.close();
  }

  private async check(): Promise<void> {
    let reason: string | undefined;
    try {
      await this.ping.ping();
    } catch (err) {
      reason = (err as { code?: string }).code ?? (err as Error).message;
    }
    const up = reason === undefined;
    if (up === this.up || this.loop.stopped) return;
    this.up = up;
    this.health.setAll(up ? Serving.SERVING : Serving.NOT_SERVING);
    if (up) this.log.info("database reachable again; health SERVING");
    else this.log.error({ reason }, "database unreachable; health NOT_SERVING");
  }
}
