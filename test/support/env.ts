// Runs in every test file before it loads: request logs stay quiet unless LOG_LEVEL is set.
process.env.LOG_LEVEL ??= 'silent';
