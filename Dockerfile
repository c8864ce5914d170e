# syntax=docker/dockerfile:1
# Build: docker build -t edgerelay .
# Run:   docker run -p 7400:7400 -p 7401:7401 -v edgerelay-data:/data edgerelay
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/EdgeRelay/EdgeRelay.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# The data folder holds the log and the relay's private service key: owned by the unprivileged
# "app" user that the .NET images provide, and kept on a volume.
RUN mkdir -p /data && chown app:app /data
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
