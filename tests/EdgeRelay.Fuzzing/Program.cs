using EdgeRelay.Fuzzing;
using SharpFuzz;

// fuzz.sh runs "dotnet EdgeRelay.Fuzzing.dll TARGET" under afl-fuzz; the other forms are for people.
if (args is ["--list"])
{
    foreach (var target in Targets.All.Where(t => !t.Hidden))
    {
        Console.WriteLine(target.Name);
    }

    return 0;
}

if (args is ["--seeds", var directory])
{
    // Regenerates tests/EdgeRelay.Fuzzing/corpus: one folder per target, one file per seed.
    foreach (var target in Targets.All)
    {
        var folder = Path.Combine(directory, target.Name);
        Directory.CreateDirectory(folder);
        var i = 0;
        foreach (var seed in target.Seeds())
        {
            File.WriteAllBytes(Path.Combine(folder, $"seed-{i++:D2}"), seed);
        }
    }

    return 0;
}

if (args is ["--replay", var name, .. var files])
{
    // Reproduces a finding outside afl-fuzz, with the exception and its stack trace.
    var target = Targets.Find(name) ?? throw new ArgumentException($"No target {name}; --list names them.");
    foreach (var file in files)
    {
        Console.WriteLine($"{file}: {(target.Run(File.ReadAllBytes(file)) ? "accepted" : "refused")}");
    }

    return 0;
}

if (args is not [var targetName] || targetName.StartsWith('-'))
{
    Console.Error.WriteLine("usage: EdgeRelay.Fuzzing TARGET | --list | --seeds DIR | --replay TARGET FILE...");
    return 2;
}

// Out of process: the decoder runs in a child that afl-fuzz may kill on a hang without losing the fork server.
// The target is looked up inside the action: building the registry runs instrumented code, which may only run
// once SharpFuzz has mapped afl-fuzz's coverage map (before that, its pointer is null).
Fuzzer.OutOfProcess.Run(stream =>
{
    var target = Targets.Find(targetName) ?? throw new ArgumentException($"No target {targetName}; --list names them.");
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target.Run(buffer.ToArray());
});
return 0;
