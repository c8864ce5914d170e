using EdgeRelay.Cli;

return await RmCommandLine.Build().Parse(args).InvokeAsync();
