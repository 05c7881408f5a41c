"""Builds the package with its stubs: generate.py writes them into email_outbox_client/ from the
repository's protos (with buf from its node_modules and grpc-tools' protoc) before setuptools
collects the package, so they always match the contract being installed."""
import pathlib
import subprocess
import sys

from setuptools import find_namespace_packages, setup

HERE = pathlib.Path(__file__).resolve().parent
subprocess.run([sys.executable, str(HERE / "generate.py"), "--out", str(HERE)], check=True, stdout=subprocess.DEVNULL)
setup(packages=find_namespace_packages(where=str(HERE), include=["email_outbox_client", "email_outbox_client.*"]))
