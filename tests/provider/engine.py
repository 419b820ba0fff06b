"""The engine's side of a dynamic provider: the process it starts and the calls it makes, with the state
it keeps between them.

The engine starts `python -u -m pulumi.dynamic` (through its shim, with the program's virtual
environment) in the program's directory, reads the port it prints and drives it over the provider gRPC
interface. Between calls it keeps each resource's inputs and outputs, and sends them back as the
protocol says: Diff and Update get the old *outputs* (and the old inputs beside them), Read the outputs
as `properties`, Delete the outputs. A failed Create or Update leaves the state as it was.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

PROJECT = Path(__file__).resolve().parents[2]
PROVIDER_KEY = "__provider"


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    # A loop of its own, left as it was found: `asyncio.run` would unset the thread's current loop, which the
    # Pulumi mocks of every later plan in the session need.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(values, {}))
    finally:
        loop.close()


def _dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct))


class ProviderError(RuntimeError):
    """A call the provider answered with an error: `details` is what the engine shows the user."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


class ProviderProcess:
    """`python -u -m pulumi.dynamic` as the engine starts it: in the program's directory, nothing else on the
    path (PYTHON* variables dropped), AWS reached through `environment`."""

    def __init__(self, environment: dict[str, str], python: str = sys.executable, cwd: Path = PROJECT) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_"))}
        env.update(environment)
        self.process = subprocess.Popen(
            [python, "-u", "-m", "pulumi.dynamic"], cwd=cwd, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        port = self.process.stdout.readline().strip() if self.process.stdout else ""
        if not port.isdigit():
            self.process.kill()
            raise RuntimeError(f"the provider did not print its port: {port!r} {self.process.stderr.read()}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.stub.Configure(provider_pb2.ConfigureRequest(args=_struct({})))

    def call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=120)
        except grpc.RpcError as error:
            raise ProviderError(error.code(), error.details()) from None

    def close(self) -> str:
        """Stop it as the engine does at the end of an operation; its standard error."""
        self.channel.close()
        self.process.kill()
        _out, err = self.process.communicate(timeout=30)
        return err


@dataclass
class Resource:
    """One dynamic resource's state, kept between operations as the engine keeps it."""

    urn: str
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return bool(self.id)

    def up(self, provider: ProviderProcess, news: dict[str, Any]) -> str:
        """One `pulumi up` of this resource with the program's `news` (its `__provider` included):
        "create", "update", or "same"."""
        checked = _dict(provider.call("Check", provider_pb2.CheckRequest(
            urn=self.urn, olds=_struct(self.inputs), news=_struct(news))).inputs)
        if not self.exists:
            self.calls.append("Create")
            created = provider.call("Create", provider_pb2.CreateRequest(urn=self.urn, properties=_struct(checked)))
            self.id, self.inputs, self.outputs = created.id, checked, _dict(created.properties)
            return "create"
        diff = provider.call("Diff", provider_pb2.DiffRequest(
            id=self.id, urn=self.urn, olds=_struct(self.outputs), news=_struct(checked),
            old_inputs=_struct(self.inputs)))
        if diff.changes != provider_pb2.DiffResponse.DIFF_SOME:
            # The engine keeps the outputs and records the new inputs.
            self.inputs = checked
            return "same"
        self.calls.append("Update")
        updated = provider.call("Update", provider_pb2.UpdateRequest(
            id=self.id, urn=self.urn, olds=_struct(self.outputs), news=_struct(checked),
            old_inputs=_struct(self.inputs)))
        self.inputs, self.outputs = checked, _dict(updated.properties)
        return "update"

    def refresh(self, provider: ProviderProcess) -> None:
        """`pulumi refresh`: Read with the state's outputs; an empty id drops the resource."""
        self.calls.append("Read")
        read = provider.call("Read", provider_pb2.ReadRequest(
            id=self.id, urn=self.urn, properties=_struct(self.outputs), inputs=_struct(self.inputs)))
        if not read.id:
            self.id, self.inputs, self.outputs = "", {}, {}
            return
        self.outputs = _dict(read.properties)

    def destroy(self, provider: ProviderProcess) -> None:
        self.calls.append("Delete")
        provider.call("Delete", provider_pb2.DeleteRequest(id=self.id, urn=self.urn, properties=_struct(self.outputs)))
        self.id, self.inputs, self.outputs = "", {}, {}
