"""`python -m mttq_xlsx.cli`, as the `mttq-xlsx` command."""

from .commands import main

main()
