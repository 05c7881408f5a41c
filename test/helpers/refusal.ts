// Reads a refused call back into what tests assert on: the gRPC code, the message, the
// google.rpc.ErrorInfo reason and metadata, and the google.rpc.BadRequest field names.
import { type Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

export interface Refusal {
  code: Code;
  message: string;
  reason: string | undefined;
  metadata: Record<string, string>;
  /** The fields of every BadRequest violation, in order. */
  fields: string[];
}

/** Awaits a call that must be refused; fails the test if it succeeds. */
export async function refusal(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (e) {
    const err = ConnectError.from(e);
    const [info] = err.findDetails(ErrorInfoSchema);
    return {
      code: err.code,
      message: err.rawMessage,
      reason: info?.reason,
      metadata: info?.metadata ?? {},
      fields: err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => v.field)),
    };
  }
  throw new Error("expected the call to be refused, but it succeeded");
}
