"""Throwaway servers on 127.0.0.1 for the tests and benchmarks, started and stopped by them: PostgreSQL
(``initdb`` + ``pg_ctl``), S3 (moto's server mode), and the free ports they listen on.

Part of the package (not of a tests folder) so that the library's tests, tools/tests and tools/bench
import them without touching ``sys.path``.
"""

from buildcpg_shared.local_servers.ports import free_port, wait_for_port
from buildcpg_shared.local_servers.postgres import PASSWORD, new_database, postgres_server
from buildcpg_shared.local_servers.s3 import s3_server

__all__ = ["PASSWORD", "free_port", "new_database", "postgres_server", "s3_server", "wait_for_port"]
