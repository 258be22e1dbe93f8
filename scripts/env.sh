# Sourced by the scripts: offline, quiet CDK/jsii settings.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1
export CDK_DISABLE_VERSION_CHECK=1
export CDK_DISABLE_CLI_TELEMETRY=1
export PATH="$PWD/.venv/bin:$PWD/node_modules/.bin:$PATH"
