"""fssdk_advanced: typed state over :class:`fssdk.Store`.

Codecs turn values into bytes (ordered codecs where byte order must be value order); six state
types (:class:`ValueState`, :class:`ListState`, :class:`MapState`, :class:`PriorityQueueState`,
:class:`AggregatingState`, :class:`ReducingState`) are each written once over a store scope, and
the Keyed* factories bind one scope per primary key and namespace. Each state's identity (kind and
codecs) is recorded in its store; :class:`StateView` reads it back for tools. Built-in
aggregations: :class:`Count`, :class:`Sum`, :class:`Min`, :class:`Max`, :class:`Mean`. Time: the
:class:`TimerService`, :class:`StateTtl` and :class:`KeyedProcessDriver`, an operator written as
``process_element`` and ``on_timer`` (docs/time.md). See docs/state.md.

>>> from fssdk.runtime import LocalContext, MemoryBackend
>>> ctx = LocalContext(MemoryBackend())
>>> seen = KeyedValueStateFactory.from_context_auto_codec(ctx, "seen", b"users", int)
>>> state = seen.new_keyed_value(b"alice", b"")
>>> count, found = state.value()
>>> state.update((count or 0) + 1)
>>> state.value()
(1, True)
"""

from fssdk_advanced.codecs import (
    BoolCodec,
    BytesCodec,
    Codec,
    FloatCodec,
    IntCodec,
    JsonCodec,
    MsgpackCodec,
    PickleCodec,
    StringCodec,
    TupleCodec,
    UnorderedCodecError,
    default_codec_for,
)
from fssdk_advanced.state import (
    AggregateFunc,
    AggregatingState,
    Count,
    KeyedAggregatingState,
    KeyedAggregatingStateFactory,
    KeyedListState,
    KeyedListStateFactory,
    KeyedMapState,
    KeyedMapStateFactory,
    KeyedPriorityQueueState,
    KeyedPriorityQueueStateFactory,
    KeyedReducingState,
    KeyedReducingStateFactory,
    KeyedValueState,
    KeyedValueStateFactory,
    ListState,
    MapState,
    Max,
    Mean,
    Min,
    PriorityQueueState,
    ReducingState,
    StateView,
    Sum,
    ValueState,
)
from fssdk_advanced.time import KeyedProcessDriver, ProcessTimer, StateTtl, Timer, TimerService
from fssdk_advanced.windows import (
    SessionWindows,
    SlidingWindows,
    TumblingWindows,
    Window,
    WindowAssigner,
    WindowedAggregation,
    WindowResult,
)

__all__ = [
    "AggregateFunc",
    "AggregatingState",
    "BoolCodec",
    "BytesCodec",
    "Codec",
    "Count",
    "FloatCodec",
    "IntCodec",
    "JsonCodec",
    "KeyedAggregatingState",
    "KeyedAggregatingStateFactory",
    "KeyedListState",
    "KeyedListStateFactory",
    "KeyedMapState",
    "KeyedMapStateFactory",
    "KeyedPriorityQueueState",
    "KeyedPriorityQueueStateFactory",
    "KeyedProcessDriver",
    "KeyedReducingState",
    "KeyedReducingStateFactory",
    "KeyedValueState",
    "KeyedValueStateFactory",
    "ListState",
    "MapState",
    "Max",
    "Mean",
    "Min",
    "MsgpackCodec",
    "PickleCodec",
    "PriorityQueueState",
    "ProcessTimer",
    "ReducingState",
    "SessionWindows",
    "SlidingWindows",
    "StateTtl",
    "StateView",
    "StringCodec",
    "Sum",
    "Timer",
    "TimerService",
    "TumblingWindows",
    "TupleCodec",
    "UnorderedCodecError",
    "ValueState",
    "Window",
    "WindowAssigner",
    "WindowResult",
    "WindowedAggregation",
    "default_codec_for",
]
