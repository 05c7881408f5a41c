import { describe, expect, it } from "vitest";
import {
  AddressError,
  type AddressErrorReason,
  type Mailbox,
  assertHeaderSafe,
  formatMailbox,
  parseMailbox,
  utf8Length,
} from "../../src/message/address.js";

function reasonOf(fn: () => unknown): AddressErrorReason | "NO_ERROR" {
  try {
    fn();
  } catch (err) {
    if (err instanceof AddressError) return err.reason;
    throw err;
  }
  return "NO_ERROR";
}

const local64 = "a".repeat(64);
const label63 = "d".repeat(63);

const valid: Array<[input: string, expected: Mailbox]> = [
  ["a@example.com", { name: "", address: "a@example.com" }],
  ["Name <a@example.com>", { name: "Name", address: "a@example.com" }],
  ['"Doe, Jane" <a@example.com>', { name: "Doe, Jane", address: "a@example.com" }],
  ['"Jane \\"JD\\" Doe" <a@example.com>', { name: 'Jane "JD" Doe', address: "a@example.com" }],
  ['"back\\\\slash" <a@example.com>', { name: "back\\slash", address: "a@example.com" }],
  ["<a@example.com>", { name: "", address: "a@example.com" }],
  ["  \u00a0 a@example.com  ", { name: "", address: "a@example.com" }],
  ["  John   Smith   <a@example.com>  ", { name: "John Smith", address: "a@example.com" }],
  ["Name<a@example.com>", { name: "Name", address: "a@example.com" }],
  ["John Q. Public <a@example.com>", { name: "John Q. Public", address: "a@example.com" }],
  ["Jürgen Müller 😀 <a@example.com>", { name: "Jürgen Müller 😀", address: "a@example.com" }],
  ['"a <b@c.com>" <d@example.com>', { name: "a <b@c.com>", address: "d@example.com" }],
  ["User.Name+Tag@EXAMPLE.Com", { name: "", address: "User.Name+Tag@example.com" }],
  ["user@bücher.example", { name: "", address: "user@xn--bcher-kva.example" }],
  ["Bücher <user@BÜCHER.example>", { name: "Bücher", address: "user@xn--bcher-kva.example" }],
  ['"john doe"@example.com', { name: "", address: '"john doe"@example.com' }],
  ['"a@b"@example.com', { name: "", address: '"a@b"@example.com' }],
  ["!#$%&'*+/=?^_`{|}~-@example.com", { name: "", address: "!#$%&'*+/=?^_`{|}~-@example.com" }],
  [`${local64}@example.com`, { name: "", address: `${local64}@example.com` }],
  [`a@${label63}.com`, { name: "", address: `a@${label63}.com` }],
  ["a@sub-domain.x1.example.co.uk", { name: "", address: "a@sub-domain.x1.example.co.uk" }],
];

const invalid: Array<[label: string, input: string, reason: AddressErrorReason]> = [
  ["empty", "", "ADDRESS_EMPTY"],
  ["whitespace only", "   ", "ADDRESS_EMPTY"],
  ["CRLF in address", "a@example.com\r\nBcc: victim@example.com", "HEADER_INJECTION"],
  ["LF in address", "a\n@example.com", "HEADER_INJECTION"],
  ["CR in display name", "Na\rme <a@example.com>", "HEADER_INJECTION"],
  ["LF in quoted display name", '"Na\nme" <a@example.com>', "HEADER_INJECTION"],
  ["NUL in display name", "Na\0me <a@example.com>", "HEADER_INJECTION"],
  ["NUL in address", "a@exa\0mple.com", "HEADER_INJECTION"],
  ["TAB inside", "a\t@example.com", "HEADER_INJECTION"],
  ["DEL", "a\x7f@example.com", "HEADER_INJECTION"],
  ["C1 control", "Name\u0085 <a@example.com>", "HEADER_INJECTION"],
  ["line separator", "Name\u2028 <a@example.com>", "HEADER_INJECTION"],
  ["lone surrogate", "Na\ud800me <a@example.com>", "ADDRESS_INVALID"],
  ["missing @", "a.example.com", "ADDRESS_INVALID"],
  ["missing domain", "a@", "ADDRESS_INVALID"],
  ["missing local part", "@example.com", "ADDRESS_INVALID"],
  ["domain without dot", "a@b", "ADDRESS_INVALID"],
  ["double dot in local", "a..b@x.com", "ADDRESS_INVALID"],
  ["leading dot in local", ".a@x.com", "ADDRESS_INVALID"],
  ["trailing dot in local", "a.@x.com", "ADDRESS_INVALID"],
  ["space in unquoted local", "john doe@x.com", "ADDRESS_INVALID"],
  ["non-ASCII local part", "jürgen@x.com", "ADDRESS_INVALID"],
  ["empty quoted local", '""@x.com', "ADDRESS_INVALID"],
  ["unterminated quoted local", '"abc@x.com', "ADDRESS_INVALID"],
  ["garbage after quoted local", '"a"b@x.com', "ADDRESS_INVALID"],
  ["two @", "a@b@x.com", "ADDRESS_INVALID"],
  ["65-char local part", `${"a".repeat(65)}@example.com`, "ADDRESS_TOO_LONG"],
  ["64-char label", `a@${"d".repeat(64)}.com`, "ADDRESS_TOO_LONG"],
  ["domain > 255 octets", `a@${Array(5).fill(label63).join(".")}.com`, "ADDRESS_TOO_LONG"],
  ["addr-spec > 254 octets", `${local64}@${Array(3).fill(label63).join(".")}.com`, "ADDRESS_TOO_LONG"],
  ["input > 998 chars", `${"N".repeat(990)} <a@example.com>`, "ADDRESS_TOO_LONG"],
  ["10,000,000-char input", `${"a".repeat(10_000_000)}@example.com`, "ADDRESS_TOO_LONG"],
  ["label leading hyphen", "a@-x.com", "ADDRESS_INVALID"],
  ["label trailing hyphen", "a@x-.com", "ADDRESS_INVALID"],
  ["empty label", "a@x..com", "ADDRESS_INVALID"],
  ["trailing dot in domain", "a@x.com.", "ADDRESS_INVALID"],
  ["underscore in domain", "a@x_y.com", "ADDRESS_INVALID"],
  ["percent-encoded domain", "a@ex%41mple.com", "ADDRESS_INVALID"],
  ["invalid punycode", "a@xn--zz.com", "ADDRESS_INVALID"],
  ["IP literal", "a@[1.2.3.4]", "ADDRESS_INVALID"],
  ["bare IPv4", "a@1.2.3.4", "ADDRESS_INVALID"],
  ["disguised IPv4", "a@0x7f.1", "ADDRESS_INVALID"],
  ["two addresses, comma", "Name <a@x.com>, b@y.com", "ADDRESS_INVALID"],
  ["two addresses, comma reversed", "a@x.com, Name <b@y.com>", "ADDRESS_INVALID"],
  ["two addresses, space", "a@x.com b@y.com", "ADDRESS_INVALID"],
  ["two angle addresses", "<a@x.com> <b@y.com>", "ADDRESS_INVALID"],
  ["group syntax, empty", "undisclosed-recipients:;", "ADDRESS_INVALID"],
  ["group syntax", "friends: a@x.com, b@y.com;", "ADDRESS_INVALID"],
  ["unquoted comma in name", "Doe, Jane <a@x.com>", "ADDRESS_INVALID"],
  ["unquoted semicolon in name", "Doe; Jane <a@x.com>", "ADDRESS_INVALID"],
  ["unquoted @ in name", "a@x.com <a@x.com>", "ADDRESS_INVALID"],
  ["comment", "a@x.com (Jane)", "ADDRESS_INVALID"],
  ["unterminated quoted name", '"Jane <a@x.com>', "ADDRESS_INVALID"],
  ["unclosed angle", "Name <a@x.com", "ADDRESS_INVALID"],
  ["empty angle", "Name <>", "ADDRESS_INVALID"],
  ["stray >", "a@x.com>", "ADDRESS_INVALID"],
];

describe("parseMailbox", () => {
  it.each(valid)("accepts %j", (input, expected) => {
    expect(parseMailbox(input)).toEqual(expected);
  });

  it.each(invalid)("rejects %s", (_label, input, reason) => {
    expect(reasonOf(() => parseMailbox(input))).toBe(reason);
  });

  it("keeps error messages short and free of the input", () => {
    const hostile = `${"x".repeat(500)}\r\nBcc: evil@example.com`;
    for (const input of [hostile, hostile.slice(0, 900), "y".repeat(5000)]) {
      try {
        parseMailbox(input);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(AddressError);
        const message = (err as AddressError).message;
        expect(message.length).toBeLessThan(120);
        expect(message).not.toMatch(/xxxxxxxxxx|yyyyyyyyyy|evil/);
        expect((err as AddressError).name).toBe("AddressError");
      }
    }
  });

  it("limits lengths in octets", () => {
    expect(utf8Length("bücher")).toBe(7);
    const maxAddress = `${local64}@${Array(2).fill(label63).join(".")}.${"e".repeat(61)}`;
    expect(maxAddress.length).toBe(254);
    expect(parseMailbox(maxAddress).address).toBe(maxAddress);
  });
});

describe("formatMailbox", () => {
  it.each([
    [{ name: "", address: "a@example.com" }, "a@example.com"],
    [{ name: "Jane", address: "a@example.com" }, '"Jane" <a@example.com>'],
    [{ name: 'Jane "JD" Doe', address: "a@example.com" }, '"Jane \\"JD\\" Doe" <a@example.com>'],
    [{ name: "back\\slash", address: "a@example.com" }, '"back\\\\slash" <a@example.com>'],
  ])("formats %j", (m, expected) => {
    expect(formatMailbox(m)).toBe(expected);
  });

  it.each(valid)("round-trips %j through parseMailbox", (input) => {
    const parsed = parseMailbox(input);
    expect(parseMailbox(formatMailbox(parsed))).toEqual(parsed);
  });

  it.each<Mailbox>([
    { name: 'Doe, Jane; <x@y.com> (c) \\ "q"', address: "a@example.com" },
    { name: "  padded  ", address: '"john doe"@example.com' },
    { name: "\u00e9\u00e8 東京", address: "a@xn--bcher-kva.example" },
  ])("round-trips tricky mailbox %j", (m) => {
    expect(parseMailbox(formatMailbox(m))).toEqual(m);
  });

  it("refuses hand-built mailboxes with control characters", () => {
    expect(reasonOf(() => formatMailbox({ name: "x\r\nBcc: y@z.com", address: "a@example.com" }))).toBe("HEADER_INJECTION");
    expect(reasonOf(() => formatMailbox({ name: "", address: "a@example.com\n" }))).toBe("HEADER_INJECTION");
  });
});

describe("assertHeaderSafe", () => {
  it.each([
    ["plain subject", "Hello, world"],
    ["unicode", "Grüße 😀"],
    ["right-to-left text and marks", "שלום \u200fworld\u200e"],
    ["empty", ""],
  ])("accepts %s", (_label, value) => {
    expect(() => assertHeaderSafe(value, "subject")).not.toThrow();
  });

  it.each([
    ["CR", "a\rb"],
    ["LF", "a\nb"],
    ["CRLF header", "Hi\r\nBcc: victim@example.com"],
    ["NUL", "report\0.pdf"],
    ["other C0 (ESC)", "a\x1bb"],
    ["BEL", "\x07"],
    ["TAB", "a\tb"],
    ["DEL", "a\x7fb"],
    ["C1 (NEL)", "a\u0085b"],
    ["LINE SEPARATOR", "a\u2028b"],
    ["PARAGRAPH SEPARATOR", "a\u2029b"],
    ["lone surrogate", "a\ud800b"],
    ["RIGHT-TO-LEFT OVERRIDE", "invoice\u202etxt.exe"],
    ["LEFT-TO-RIGHT EMBEDDING", "a\u202ab"],
    ["FIRST STRONG ISOLATE", "a\u2068b"],
    ["POP DIRECTIONAL ISOLATE", "a\u2069b"],
  ])("rejects %s", (_label, value) => {
    expect(reasonOf(() => assertHeaderSafe(value, "subject"))).toBe("HEADER_INJECTION");
  });

  it("names the field in the message", () => {
    expect(() => assertHeaderSafe("a\nb", "filename")).toThrow(/filename/);
  });
});
