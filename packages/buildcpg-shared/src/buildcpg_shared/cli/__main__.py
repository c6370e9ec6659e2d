"""``python -m buildcpg_shared.cli`` = ``buildcpg``."""

from buildcpg_shared.cli.app import main

main()
