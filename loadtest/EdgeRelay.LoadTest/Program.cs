using EdgeRelay.LoadTest.Cli;

return await LoadTestCommandLine.InvokeAsync(args);
