#!/bin/sh
# The suite's command line (serve | dump | validate). Absolute paths: Kong starts plugin servers without PATH.
exec /usr/local/bin/node /opt/kong-llm/dist/plugins/runtime/cli/main.js "$@"
