using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Tests;

/// <summary>The backup endpoint on an admin group of its own, as the relay's admin API maps it.</summary>
internal sealed class BackupAdminApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BackupAdminApp(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public static async Task<BackupAdminApp> StartAsync(RelayServer relay)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(relay);
        var app = builder.Build();
        BackupEndpoint.MapBackup(app.MapGroup("/admin"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BackupAdminApp(app, address.TrimEnd('/') + "/");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
