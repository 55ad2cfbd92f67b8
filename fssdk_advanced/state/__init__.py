"""The six state types and their Keyed* factories, each written once over a StoreScope, and the
built-in aggregations (:class:`Count`, :class:`Sum`, :class:`Min`, :class:`Max`, :class:`Mean`)."""

from fssdk_advanced.state._aggregating import (
    AggregateFunc,
    AggregatingState,
    KeyedAggregatingState,
    KeyedAggregatingStateFactory,
)
from fssdk_advanced.state._builtin_aggregates import Count, Max, Mean, Min, Sum
from fssdk_advanced.state._list import KeyedListState, KeyedListStateFactory, ListState
from fssdk_advanced.state._map import KeyedMapState, KeyedMapStateFactory, MapState
from fssdk_advanced.state._priority_queue import (
    KeyedPriorityQueueState,
    KeyedPriorityQueueStateFactory,
    PriorityQueueState,
)
from fssdk_advanced.state._reducing import (
    KeyedReducingState,
    KeyedReducingStateFactory,
    ReducingState,
)
from fssdk_advanced.state._value import KeyedValueState, KeyedValueStateFactory, ValueState
from fssdk_advanced.state._view import StateView

__all__ = [
    "AggregateFunc",
    "AggregatingState",
    "Count",
    "KeyedAggregatingState",
    "KeyedAggregatingStateFactory",
    "KeyedListState",
    "KeyedListStateFactory",
    "KeyedMapState",
    "KeyedMapStateFactory",
    "KeyedPriorityQueueState",
    "KeyedPriorityQueueStateFactory",
    "KeyedReducingState",
    "KeyedReducingStateFactory",
    "KeyedValueState",
    "KeyedValueStateFactory",
    "ListState",
    "MapState",
    "Max",
    "Mean",
    "Min",
    "PriorityQueueState",
    "ReducingState",
    "StateView",
    "Sum",
    "ValueState",
]
