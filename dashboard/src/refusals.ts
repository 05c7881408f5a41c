// The account-level signal: when mail of the picked account (or, with "all", of any account the
// key covers) was refused for a sender-side reason in the last 24 hours (ListAccounts'
// sender_refusals), a banner says so: "Mail from account 1 is being refused: blocked ×12
// (gmail.com) — latest: …". Read again when the account changes and, a few seconds apart at
// most, when the stream reports a bounce. Text only, never markup: the diagnostic is a remote
// server's words.
import type { Account } from "../../gen/email/v1/account_service_pb.js";
import { bounceReasonName } from "../../src/client/reasons.js";
import type { AccountsApi } from "./api.js";

/** ListAccounts is read at most this often for the banner. */
const MIN_READ_MS = 3_000;

export class RefusalBanner {
  private accounts: readonly Account[] = [];
  private accountId = 0;
  private lastRead = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly api: AccountsApi,
    private readonly banner: HTMLElement,
  ) {}

  /** Shows the signal of one account (0: every account), read afresh. */
  show(accountId: number): void {
    this.accountId = accountId;
    this.render();
    this.refresh();
  }

  /** Reads ListAccounts again soon (a report came in), at most every MIN_READ_MS. */
  refresh(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(
      () => {
        this.lastRead = Date.now();
        this.api
          .listAccounts({})
          .then(
            (res) => {
              this.accounts = res.accounts;
              this.render();
            },
            () => undefined, // the stream shows why (no key, wrong key)
          )
          .finally(() => (this.timer = undefined));
      },
      Math.max(0, this.lastRead + MIN_READ_MS - Date.now()),
    );
  }

  private render(): void {
    const refused = this.accounts.filter((a) => a.senderRefusals.length > 0 && (this.accountId === 0 || a.accountId === this.accountId));
    this.banner.replaceChildren(
      ...refused.map((a) => {
        const line = document.createElement("p");
        line.dataset.accountId = String(a.accountId);
        const counts = a.senderRefusals.map(
          (r) => `${bounceReasonName(r.reason)} ×${r.count}${r.latestDomain ? ` (${r.latestDomain})` : ""}`,
        );
        const latest = [...a.senderRefusals].sort((x, y) => Number((y.latestTime?.seconds ?? 0n) - (x.latestTime?.seconds ?? 0n)))[0]!;
        line.textContent = `Mail from account ${a.accountId} is being refused: ${counts.join(", ")} — latest: ${latest.latestDiagnostic}`;
        line.title = "Sender-side refusals of the last 24 hours: the recipients are not suppressed; our IP, domain or message was refused.";
        return line;
      }),
    );
    this.banner.hidden = refused.length === 0;
  }
}
