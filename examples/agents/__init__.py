"""Plain user-side agents written against the ``tensorzero`` client API.

Installed as ``pytest_runguard.example_agents`` so the shipped scenario
library runs them after a plain ``pip install``.  Nothing here knows about
the simulator: each agent takes a client (the real
``TensorZeroGateway`` or the simulation's) and calls ``inference`` and
``feedback`` as a team's own code would.  ``guarded`` wraps the same agents
with the guards from ``pytest_runguard.guards``.
"""
