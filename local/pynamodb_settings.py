"""pynamodb's settings in the local cloud (PYNAMODB_CONFIG points here; never deployed).

One process runs every handler on many threads: with pynamodb's default pool of 10 connections, 200 racing
requests open and drop a connection each to DynamoDB Local, and on a starved machine some connects time out.
A Lambda environment runs one request at a time, so the pool size changes nothing there."""

max_pool_connections = 128
