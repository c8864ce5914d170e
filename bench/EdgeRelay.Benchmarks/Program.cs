using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/EdgeRelay.Benchmarks -- --filter '*'
// (any BenchmarkDotNet switch works: --filter '*Resolution*', --job short, --exporters json ...)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
