// Imported first by the handler tests: the handlers' Powertools loggers read the level when
// their modules load, and test output should show test results, not INFO lines.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
