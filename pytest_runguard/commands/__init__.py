"""One module per ``runguard`` subcommand (see ``pytest_runguard.cli``)."""
