// What a request of the outbox_request table gets: the message Send would commit, or the refusal
// Send would answer, with the same ErrorInfo reason and message. The row's account_id stands where
// an RPC's API key stands: the request may name that account or none, not another one.
import { fromJsonString } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { SendRequestSchema, type SendRequest } from "../../../gen/email/v1/email_service_pb.js";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import type { PendingRequest, Verdict } from "../../outbox/requests.js";
import { sendMessage, type RequestDeps } from "../handlers/message-request.js";

/**
 * Decodes the request's JSON (strictly: an unknown field is refused, as on the RPCs) and runs
 * Send's checks on it. Throws only what is not the request's fault (Send would answer INTERNAL).
 */
export async function judgeRequest(req: PendingRequest, deps: RequestDeps, maxBytes: number): Promise<Verdict> {
  if (req.json === undefined) return refused("REQUEST_TOO_LARGE", `a request is at most ${maxBytes} bytes of JSON`);
  let send: SendRequest;
  try {
    send = fromJsonString(SendRequestSchema, req.json, { ignoreUnknownFields: false });
  } catch (err) {
    return refused("REQUEST_MALFORMED", `the request is not an email.v1.SendRequest in proto JSON: ${(err as Error).message}`);
  }
  if (send.accountId !== 0 && send.accountId !== req.accountId) {
    return refused("ACCOUNT_NOT_ALLOWED", "the request names another account than its row's account_id");
  }
  // The idempotency fingerprint covers account_id, so a request and a Send of the same message match.
  send.accountId = req.accountId;
  try {
    return { msg: await sendMessage(send, deps) };
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    return refused(err.findDetails(ErrorInfoSchema)[0]?.reason ?? "", err.rawMessage);
  }
}

function refused(reason: string, message: string): Verdict {
  return { refusal: { reason, message } };
}
