/*
Copyright 2026 The subscription-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package testenv starts the real services that integration tests run against:
// a kube-apiserver with etcd (envtest), redis-server and PostgreSQL, each on a
// free loopback port and torn down afterwards. A missing binary is an error that
// says how to install it; tests fail on it rather than skip.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/bakery-ia/subscription-operator/internal/kube"
)

// Kube is a running kube-apiserver and etcd with the project's CRDs installed.
type Kube struct {
	Env        *envtest.Environment
	Config     *rest.Config
	Client     client.Client
	Scheme     *k8sruntime.Scheme
	Kubeconfig string // path of an admin kubeconfig file, for kubectl
	dir        string
}

// RepoRoot is the checkout's top directory, found from this file's location so
// tests work from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Scheme returns a scheme with the core Kubernetes types and this project's API.
func Scheme() *k8sruntime.Scheme { return kube.NewScheme() }

// K8sVersion is the control-plane version hack/setup-envtest.sh builds; keep
// the two in step.
const K8sVersion = "1.37.2"

// AssetsDir finds the envtest binaries: $KUBEBUILDER_ASSETS, else the cache that
// hack/setup-envtest.sh fills. It never builds or downloads anything, so a test
// binary started by hand cannot set off a 10-minute build.
func AssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		if err := checkAssets(dir); err != nil {
			return "", err
		}
		return dir, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	dir := filepath.Join(cache, "subscription-operator", "k8s", K8sVersion)
	if checkAssets(dir) == nil {
		return dir, nil
	}
	return "", fmt.Errorf("envtest binaries (kube-apiserver, etcd, kubectl) not found in %s: run `make envtest` "+
		"(builds them from source through the Go module proxy, about 10 minutes once) or set KUBEBUILDER_ASSETS", dir)
}

func checkAssets(dir string) error {
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return fmt.Errorf("KUBEBUILDER_ASSETS=%s has no %s: run `make envtest`", dir, bin)
		}
	}
	return nil
}

// StartEnvtest starts kube-apiserver and etcd with the CRDs of config/crd/bases,
// and writes an admin kubeconfig for kubectl.
func StartEnvtest() (*Kube, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	scheme := Scheme()
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		Scheme:                scheme,
		// Two cores shared by parallel test binaries: the default 20 s is too
		// tight for kube-apiserver under load.
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest from %s: %w", assets, err)
	}
	k := &Kube{Env: env, Config: cfg, Scheme: scheme}
	if k.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("creating client: %w", err)
	}
	if err := k.writeKubeconfig(); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return k, nil
}

func (k *Kube) writeKubeconfig() error {
	user, err := k.Env.AddUser(envtest.User{Name: "envtest-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering kubeconfig: %w", err)
	}
	if k.dir, err = os.MkdirTemp("", "envtest-kubeconfig-"); err != nil {
		return fmt.Errorf("creating kubeconfig dir: %w", err)
	}
	k.Kubeconfig = filepath.Join(k.dir, "kubeconfig")
	if err := os.WriteFile(k.Kubeconfig, data, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// Kubectl runs the envtest kubectl against this API server and returns its combined output.
func (k *Kube) Kubectl(args ...string) (string, error) {
	bin := filepath.Join(k.Env.BinaryAssetsDirectory, "kubectl")
	cmd := exec.Command(bin, append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Stop tears the control plane down.
func (k *Kube) Stop() error {
	if k.dir != "" {
		_ = os.RemoveAll(k.dir)
	}
	return k.Env.Stop()
}

// CodecFactory is a convenience for tests that decode YAML samples.
func (k *Kube) CodecFactory() serializer.CodecFactory { return serializer.NewCodecFactory(k.Scheme) }
