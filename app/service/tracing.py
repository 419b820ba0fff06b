"""The function's tracing, behind one small interface, on either provider the stack chooses.

`xray-sdk`: Powertools Tracer over the X-Ray SDK, as the function has always traced (the SDK and its daemon
are in maintenance mode and unsupported from 2027-02-25). `opentelemetry`: the OpenTelemetry API; the
AWS-published AWSOpenTelemetryDistroPython layer, started by AWS_LAMBDA_EXEC_WRAPPER, configures the SDK,
instruments botocore and the invocation, and exports the sampled spans to X-Ray. The component sets
TRACING_PROVIDER; each provider's packages are imported only on its own path.

What traces carry on both paths, on the handler's `## lambda_handler` (sub)segment:
- annotations (indexed, searchable): `operation`, `status`, `caller` (from the handler) and `ColdStart`,
  `Service` (from here, as Powertools Tracer adds them);
- metadata: whatever the handler records with put_metadata.
X-Ray turns the span attributes named in the `aws.xray.annotations` attribute into annotations and every
other attribute into metadata, so the OpenTelemetry side lists its annotation keys there.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from opentelemetry.trace import Span, TracerProvider

TRACING_PROVIDER_VARIABLE = "TRACING_PROVIDER"
PROVIDERS: tuple[str, ...] = ("xray-sdk", "opentelemetry")
DEFAULT_PROVIDER = "xray-sdk"
# The span attribute X-Ray reads for the keys to index as annotations.
XRAY_ANNOTATIONS_ATTRIBUTE = "aws.xray.annotations"
COLD_START_KEY = "ColdStart"
SERVICE_KEY = "Service"

AnnotationValue = str | int | float | bool
Handler = TypeVar("Handler", bound=Callable[..., Any])


class Tracing(Protocol):
    """What the handler uses of a tracer."""

    @property
    def disabled(self) -> bool:
        """Nothing is recorded (Powertools Tracer outside Lambda); callers may skip their spans."""
        ...

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        """Wrap the Lambda handler: one `## <name>` span per invocation, ColdStart and Service annotated."""
        ...

    def put_annotation(self, key: str, value: AnnotationValue) -> None:
        """An indexed, searchable key on the current span."""
        ...

    def put_metadata(self, key: str, value: object) -> None:
        """An unindexed value on the current span."""
        ...

    def subsegment(self, name: str) -> AbstractContextManager[object]:
        """A child span around a block."""
        ...


class XRaySdkTracing:
    """Powertools Tracer: X-Ray SDK segments sent to the Lambda X-Ray daemon."""

    def __init__(self, service: str) -> None:
        from aws_lambda_powertools import Tracer

        # Only botocore, the function's one outbound client: the default patches every library X-Ray
        # supports that can be imported (sqlite3, for one), which only adds cold-start time.
        self.tracer = Tracer(service=service, patch_modules=["botocore"])

    @property
    def disabled(self) -> bool:
        return bool(self.tracer.disabled)

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        # Powertools returns its wrapper as a bare Callable; it keeps the handler's signature (functools.wraps).
        return cast("Handler", self.tracer.capture_lambda_handler(handler, capture_response=False))

    def put_annotation(self, key: str, value: AnnotationValue) -> None:
        # Powertools types the value as numbers.Number, which int and float are only by registration at run time.
        self.tracer.put_annotation(key=key, value=value)  # type: ignore[arg-type]

    def put_metadata(self, key: str, value: object) -> None:
        self.tracer.put_metadata(key=key, value=value)

    def subsegment(self, name: str) -> AbstractContextManager[object]:
        segment: AbstractContextManager[object] = self.tracer.provider.in_subsegment(name=name)
        return segment


class OpenTelemetryTracing:
    """The OpenTelemetry API over whatever SDK the process configured (the layer's in Lambda; without one,
    the API's no-op tracer)."""

    disabled = False  # The API is a no-op without an SDK: spans cost next to nothing then.

    def __init__(self, service: str, tracer_provider: TracerProvider | None = None) -> None:
        from opentelemetry import trace

        self.service = service
        self._trace = trace
        self._tracer = trace.get_tracer("service.handler", tracer_provider=tracer_provider)
        self._cold_start = True
        # Annotation keys per span id, for the span's aws.xray.annotations list.
        self._annotation_keys: dict[int, list[str]] = {}

    def _take_cold_start(self) -> bool:
        """True on the environment's first invocation only, as Powertools Tracer counts it: an environment
        initialised for provisioned concurrency never had a caller waiting for its init."""
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency":
            self._cold_start = False
        cold, self._cold_start = self._cold_start, False
        return cold

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        name = f"## {handler.__name__}"

        @functools.wraps(handler)
        def traced(*args: Any, **kwargs: Any) -> Any:
            # Exceptions are recorded on the span and set its status to error (the API's defaults).
            with self._tracer.start_as_current_span(name) as span:
                try:
                    return handler(*args, **kwargs)
                finally:
                    self._annotate(span, COLD_START_KEY, self._take_cold_start())
                    self._annotate(span, SERVICE_KEY, self.service)
                    self._annotation_keys.pop(span.get_span_context().span_id, None)

        return cast(Handler, traced)  # functools.wraps keeps the handler's name and signature

    def _annotate(self, span: Span, key: str, value: AnnotationValue) -> None:
        if not span.is_recording():
            return
        span.set_attribute(key, value)
        keys = self._annotation_keys.setdefault(span.get_span_context().span_id, [])
        if key not in keys:
            keys.append(key)
        span.set_attribute(XRAY_ANNOTATIONS_ATTRIBUTE, list(keys))

    def put_annotation(self, key: str, value: AnnotationValue) -> None:
        self._annotate(self._trace.get_current_span(), key, value)

    def put_metadata(self, key: str, value: object) -> None:
        span = self._trace.get_current_span()
        if not span.is_recording():
            return
        # Attributes take primitives only; anything else goes in as its JSON, as X-Ray metadata would show it.
        attribute: AnnotationValue = (
            value if isinstance(value, str | bool | int | float) else json.dumps(value, default=str)
        )
        span.set_attribute(key, attribute)

    @contextmanager
    def _span(self, name: str) -> Iterator[object]:
        with self._tracer.start_as_current_span(name) as span:
            yield span

    def subsegment(self, name: str) -> AbstractContextManager[object]:
        return self._span(name)


def tracing_for(service: str, provider: str | None = None) -> Tracing:
    """The tracer of `provider`, by default the one TRACING_PROVIDER names (xray-sdk when unset)."""
    chosen = provider or os.environ.get(TRACING_PROVIDER_VARIABLE) or DEFAULT_PROVIDER
    if chosen == "xray-sdk":
        return XRaySdkTracing(service)
    if chosen == "opentelemetry":
        return OpenTelemetryTracing(service)
    raise ValueError(f"{TRACING_PROVIDER_VARIABLE}={chosen!r} is not one of {list(PROVIDERS)}")
