"""The code that runs inside the component: fssdk's Store and Context over Function Stream's WIT.

``app`` is the componentize-py entry module (the ``WitWorld`` exports); it is the only module that
touches the generated bindings, through :class:`~fssdk.functionstream.guest._host.Host`. The rest
is plain fssdk code that also imports on the host, for documentation and type checking.
"""
