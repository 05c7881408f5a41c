// Preloaded into a service process (NODE_OPTIONS=--import) to give it a host clock that is off by
// EMAIL_OUTBOX_TEST_CLOCK_SKEW_MS milliseconds, for the clock tests: the service must decide due
// times and leases by the database's clock regardless.
const skewMs = Number(process.env.EMAIL_OUTBOX_TEST_CLOCK_SKEW_MS ?? 0);
const hostNow = Date.now.bind(Date);
Date.now = () => hostNow() + skewMs;
