"""The shipped scenario library (data only; see ``library.toml``).

Installed as ``pytest_runguard.scenarios`` so ``runguard simulate`` finds it
after a plain ``pip install``; ``pytest_runguard.library`` reads it.
"""
