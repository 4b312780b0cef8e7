# syntax=docker/dockerfile:1
# One Dockerfile for both apps; pick the image with its target. Build from the repository root
# (the workspace is the context):
#   docker build --target api    -t brisk-api .
#   docker build --target worker -t brisk-worker .
# (compose.yaml names the target of each service.) The build stage compiles both static
# binaries at once (pure-Go SQLite driver, no cgo), so `task up` compiles the workspace once;
# each target is the small runtime stage plus one binary, with busybox's wget for the health
# check, running as an unprivileged user.

FROM golang:1.26.8-alpine AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# go.work names every module of the workspace: each needs its go.mod present, though only
# the apps' own dependencies are downloaded (into a cache mount kept between builds).
COPY go.work go.work.sum ./
COPY apps/api/go.mod apps/api/go.sum apps/api/
COPY apps/worker/go.mod apps/worker/go.sum apps/worker/
COPY bench/go.mod bench/go.sum bench/
COPY libs/conduit/go.mod libs/conduit/go.sum libs/conduit/
COPY libs/config/go.mod libs/config/go.sum libs/config/
COPY libs/data/go.mod libs/data/go.sum libs/data/
COPY libs/observe/go.mod libs/observe/go.sum libs/observe/
COPY libs/perfcore/go.mod libs/perfcore/go.sum libs/perfcore/
COPY libs/startup/go.mod libs/startup/go.sum libs/startup/
COPY migrations/go.mod migrations/go.sum migrations/
COPY ops/go.mod ops/go.sum ops/
COPY tools/go.mod tools/go.sum tools/
COPY apps apps
COPY libs libs
COPY migrations migrations
ARG VERSION=dev
# Each app's committed default.pgo applies (go build picks it up from the main package).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags "-s -w -X github.com/brisk-go/brisk/libs/startup.version=${VERSION}" -o /out/ ./apps/api ./apps/worker

# What both images share: the base, the user, the admin listener (metrics, health, pprof).
FROM alpine:3.22 AS runtime
RUN adduser -D -H -u 10001 brisk && mkdir -p /app/var && chown brisk /app/var
WORKDIR /app
USER 10001:10001
ENV ADMIN_ADDR=:9090 LOG_FORMAT=json
EXPOSE 9090

FROM runtime AS worker
COPY --from=build /out/worker /usr/local/bin/worker
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD wget -qO /dev/null http://127.0.0.1:9090/debug/health || exit 1
ENTRYPOINT ["/usr/local/bin/worker"]
CMD ["run"]

# Last, so that a plain `docker build .` makes the API image.
FROM runtime AS api
COPY --from=build /out/api /usr/local/bin/api
ENV HTTP_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD wget -qO /dev/null http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/api"]
CMD ["serve"]
