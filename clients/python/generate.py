#!/usr/bin/python3
"""Generates the Python stubs of email.v1 (and google.rpc's error details) into the package.

`pip install ./clients/python` runs it (from setup.py); by hand, with Debian's interpreter, which
sees the apt packages python3-grpcio and python3-grpc-tools:

    /usr/bin/python3 clients/python/generate.py [--out DIR]

Debian's grpc-tools bundles protoc 3.5.1, which cannot parse proto3 `optional` (used by
email.v1.Attachment). So `buf build` (from the repository's node_modules) compiles the contract
into a FileDescriptorSet, and grpc-tools' protoc generates Python from that set instead of from
the .proto text. On the way the files are moved under the package: email/v1/ becomes
email_outbox_client/email_v1/ (a generated package named `email` would shadow Python's standard
`email` package) and google/rpc/ becomes email_outbox_client/google/rpc/, so the stubs import
each other as email_outbox_client.*. The move touches file names only; package and message names
(email.v1.*) and so the wire format stay the same.
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROTOS = ["email/v1/email_service.proto", "email/v1/template_service.proto", "google/rpc/status.proto", "google/rpc/error_details.proto"]


PACKAGE = "email_outbox_client"


def python_path(proto_path: str) -> str:
    """email/v1/x.proto -> email_outbox_client/email_v1/x.proto (module email_outbox_client.email_v1.x_pb2),
    google/rpc/x.proto -> email_outbox_client/google/rpc/x.proto; the well-known types unchanged."""
    if proto_path.startswith("email/v1/"):
        return f"{PACKAGE}/email_v1/{proto_path[len('email/v1/'):]}"
    if proto_path.startswith("google/rpc/"):
        return f"{PACKAGE}/{proto_path}"
    return proto_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=HERE, help="output directory (default: %(default)s)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        built = pathlib.Path(tmp, "contract.binpb")
        paths = [f"--path=proto/{p}" for p in PROTOS]
        subprocess.run(
            [str(ROOT / "node_modules/.bin/buf"), "build", "--as-file-descriptor-set", "--exclude-source-info", *paths, "-o", str(built)],
            cwd=ROOT,
            check=True,
        )
        files = descriptor_pb2.FileDescriptorSet.FromString(built.read_bytes())
        for f in files.file:
            f.name = python_path(f.name)
            f.dependency[:] = [python_path(d) for d in f.dependency]
        renamed = pathlib.Path(tmp, "python.binpb")
        renamed.write_bytes(files.SerializeToString())

        # The well-known types ship with the protobuf runtime: generate only ours.
        targets = [f.name for f in files.file if not f.name.startswith("google/protobuf/")]
        args.out.mkdir(parents=True, exist_ok=True)
        # protoc.main, not `-m grpc_tools.protoc`: that adds an -I, which protoc refuses beside
        # --descriptor_set_in.
        status = protoc.main(
            ["protoc", f"--descriptor_set_in={renamed}", f"--python_out={args.out}", f"--grpc_python_out={args.out}", *targets]
        )
    if status == 0:
        print(f"generated {', '.join(targets)} into {args.out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
