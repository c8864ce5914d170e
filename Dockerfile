# syntax=docker/dockerfile:1
# Build: docker build -t edgerelay .
# Run:   docker run -p 7400:7400 -p 127.0.0.1:7401:7401 -v edgerelay-data:/data -e EDGERELAY_Relay__PublicEndpoint=HOST:7400 edgerelay
#        (it listens on every interface, so it refuses to start without the endpoint its cards name)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore from the project files alone, so the restored packages are a layer that a source edit does not
# invalidate: only a change to a project file or to the central package versions repeats the restore.
# Every project src/EdgeRelay references, directly or not, must be listed here (ContainerTests checks it).
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/EdgeRelay/EdgeRelay.csproj src/EdgeRelay/
COPY src/EdgeRelay.Server/EdgeRelay.Server.csproj src/EdgeRelay.Server/
COPY src/EdgeRelay.Core/EdgeRelay.Core.csproj src/EdgeRelay.Core/
COPY src/EdgeRelay.Protocol/EdgeRelay.Protocol.csproj src/EdgeRelay.Protocol/
COPY src/EdgeRelay.Addressing/EdgeRelay.Addressing.csproj src/EdgeRelay.Addressing/
COPY src/EdgeRelay.Storage/EdgeRelay.Storage.csproj src/EdgeRelay.Storage/
COPY src/EdgeRelay.Storage.Faster/EdgeRelay.Storage.Faster.csproj src/EdgeRelay.Storage.Faster/
COPY src/EdgeRelay.Storage.JetStream/EdgeRelay.Storage.JetStream.csproj src/EdgeRelay.Storage.JetStream/
COPY src/EdgeRelay.Delivery/EdgeRelay.Delivery.csproj src/EdgeRelay.Delivery/
COPY src/EdgeRelay.Attachments/EdgeRelay.Attachments.csproj src/EdgeRelay.Attachments/
COPY src/EdgeRelay.Forwarding/EdgeRelay.Forwarding.csproj src/EdgeRelay.Forwarding/
COPY src/EdgeRelay.Client/EdgeRelay.Client.csproj src/EdgeRelay.Client/
RUN dotnet restore src/EdgeRelay/EdgeRelay.csproj
COPY . .
RUN dotnet publish src/EdgeRelay/EdgeRelay.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# The data folder holds the log and the relay's private service key: owned by the unprivileged
# "app" user that the .NET images provide, and kept on a volume. /keys is where nodes of one service
# share their service key (a volume of its own, see config/docker-compose.yml's cluster profile).
RUN mkdir -p /data /keys && chown app:app /data /keys
USER app
VOLUME /data
ENV EDGERELAY_Relay__Endpoint=0.0.0.0:7400 \
    EDGERELAY_Http__Endpoint=0.0.0.0:7401 \
    EDGERELAY_Storage__DataDir=/data
EXPOSE 7400 7401
# The relay asks its own /healthz: the runtime image has no curl, and needs none.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["dotnet", "edgerelay.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "edgerelay.dll"]
