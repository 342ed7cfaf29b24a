# Builds the one image that holds all three programs: manager (the operator),
# gateway and usage-tracker. Needs a container engine (docker, podman, buildah);
# none runs on the project's CI machines, so CI builds the binaries instead.
FROM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH=amd64
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
ENV CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH}
RUN go build -trimpath -ldflags="-s -w" -o /out/manager ./cmd/manager && \
    go build -trimpath -ldflags="-s -w" -o /out/gateway ./cmd/gateway && \
    go build -trimpath -ldflags="-s -w" -o /out/usage-tracker ./cmd/usage-tracker

# distroless static, nonroot (uid 65532): no shell, no package manager.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /out/manager /out/gateway /out/usage-tracker /
USER 65532:65532
ENTRYPOINT ["/manager"]
