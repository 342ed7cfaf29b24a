# Builds the one image that holds all three programs: manager (the operator),
# gateway and usage-tracker, plus demo-upstream (the stand-in application of the
# demo and of make e2e-cluster). Needs a container engine (docker, podman, buildah)
# and pulls golang and distroless base images.
#
# `make image` produces the equivalent image without either: hack/image assembles
# the same static binaries with go-containerregistry onto a nonroot (65532) base
# of its own (passwd, group, CA bundle; time zone data embedded in the binaries)
# and writes an OCI layout tarball; that is the image CI tests in a local cluster
# (make e2e-cluster). See docs/install.md, "The image".
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
COPY hack/demo/upstream/ hack/demo/upstream/
ENV CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH}
RUN go build -trimpath -ldflags="-s -w" -o /out/manager ./cmd/manager && \
    go build -trimpath -ldflags="-s -w" -o /out/gateway ./cmd/gateway && \
    go build -trimpath -ldflags="-s -w" -o /out/usage-tracker ./cmd/usage-tracker && \
    go build -trimpath -ldflags="-s -w" -o /out/demo-upstream ./hack/demo/upstream

# distroless static, nonroot (uid 65532): no shell, no package manager.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /out/manager /out/gateway /out/usage-tracker /out/demo-upstream /
USER 65532:65532
ENTRYPOINT ["/manager"]
