package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/modfile"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/ops/grafana"
)

// root is the repository root (this package lives in ops/stack).
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r, "go.work")); err != nil {
		t.Fatalf("no go.work at %s: %v", r, err)
	}
	return r
}

func loadProject(t *testing.T) *types.Project {
	t.Helper()
	r := root(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(r, "compose.yaml")},
		cli.WithWorkingDirectory(r), cli.WithName("brisk"), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the one-call loader is all this test needs
	p, err := cli.ProjectFromOptions(context.Background(), opts)
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	return p
}

// appServices are the services built from our Dockerfiles, with the app each one runs.
var appServices = map[string]config.App{"migrate": config.API, "api": config.API, "worker": config.Worker}

func TestComposeServicesAndOrder(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	want := []string{"api", "lgtm", "migrate", "postgres", "redis", "worker"}
	if got := p.ServiceNames(); !slices.Equal(sorted(got), want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	for name, s := range p.Services {
		if name != "migrate" && (s.HealthCheck == nil || len(s.HealthCheck.Test) == 0) {
			t.Errorf("%s has no healthcheck: `task up` (compose up --wait) cannot tell when it is ready", name)
		}
		for dep, d := range s.DependsOn {
			target, ok := p.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if target.HealthCheck == nil {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully, types.ServiceConditionStarted:
			default:
				t.Errorf("%s → %s: unexpected condition %q", name, dep, d.Condition)
			}
		}
		if s.Build == nil {
			ref := s.Image
			if i := strings.LastIndex(ref, ":"); i < 0 || strings.HasSuffix(ref, ":latest") || strings.Contains(ref[i:], "/") {
				t.Errorf("%s: image %q is not pinned to a tag", name, ref)
			}
		}
	}
	// The order `task up` relies on.
	order := map[string]map[string]string{
		"migrate": {"postgres": types.ServiceConditionHealthy},
		"api":     {"migrate": types.ServiceConditionCompletedSuccessfully, "redis": types.ServiceConditionHealthy},
		"worker":  {"migrate": types.ServiceConditionCompletedSuccessfully, "redis": types.ServiceConditionHealthy},
	}
	for svc, deps := range order {
		for dep, cond := range deps {
			if got := p.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s → %s: condition %q, want %q", svc, dep, got, cond)
			}
		}
	}
	if cmd := p.Services["migrate"].Command; !slices.Equal([]string(cmd), []string{"migrate", "up"}) {
		t.Errorf("migrate runs %v, want [migrate up]", cmd)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// The apps' environment must be what config.Load accepts: every variable known, every value valid.
func TestComposeEnvironmentIsValidConfiguration(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	known := map[string]bool{}
	for _, s := range config.Settings() {
		known[s.Env] = true
	}
	otel := []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_METRICS_EXPORTER",
		"OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}
	for name, app := range appServices {
		env := map[string]string{}
		for k, v := range p.Services[name].Environment {
			if v == nil {
				t.Errorf("%s: %s has no value", name, k)
				continue
			}
			if !known[k] && !slices.Contains(otel, k) {
				t.Errorf("%s: %s is not a Brisk setting (docs/configuration.md) nor a supported OTEL_* variable", name, k)
			}
			env[k] = *v
		}
		cfg, _, err := config.Load(nil, func(k string) string { return env[k] }, app)
		if err != nil {
			t.Errorf("%s: its environment does not load: %v", name, err)
			continue
		}
		if cfg.Database.URL == "" || !strings.HasPrefix(cfg.Database.URL, "postgres://") {
			t.Errorf("%s: DATABASE_URL %q is not the stack's PostgreSQL", name, cfg.Database.URL)
		}
		if u := cfg.Database.URL; !strings.Contains(u, "@postgres:") {
			t.Errorf("%s: DATABASE_URL %q does not name the postgres service", name, u)
		}
		if cfg.RedisURL != "" && !strings.Contains(cfg.RedisURL, "//redis:") {
			t.Errorf("%s: REDIS_URL %q does not name the redis service", name, cfg.RedisURL)
		}
		if name != "migrate" && cfg.MigrateOnStart() {
			t.Errorf("%s migrates on start: the one-shot migrate service does that", name)
		}
		// Published ports must reach the listeners the configuration opens.
		listening := map[uint32]bool{}
		for _, a := range []string{cfg.AdminAddr, cfg.HTTP.Addr} {
			if a == "" {
				continue
			}
			_, port, _ := net.SplitHostPort(a)
			listening[portNum(t, port)] = true
		}
		for _, pc := range p.Services[name].Ports {
			if !listening[pc.Target] {
				t.Errorf("%s publishes container port %d, but nothing listens there (HTTP_ADDR %s, ADMIN_ADDR %s)",
					name, pc.Target, cfg.HTTP.Addr, cfg.AdminAddr)
			}
		}
		if name == "api" {
			if _, port, _ := net.SplitHostPort(cfg.HTTP.Addr); port != "8080" {
				t.Errorf("api: HTTP_ADDR %s, want port 8080", cfg.HTTP.Addr)
			}
		}
	}
}

func portNum(t *testing.T, s string) uint32 {
	var n uint32
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("port %q is not a number", s)
		}
		n = n*10 + uint32(c-'0')
	}
	return n
}

func TestComposePortsAndMounts(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	seen := map[string]string{}
	for name, s := range p.Services {
		for _, pc := range s.Ports {
			if pc.Published == "" {
				continue
			}
			key := pc.HostIP + ":" + pc.Published
			if pc.HostIP == "" || pc.HostIP == "0.0.0.0" {
				key = "*:" + pc.Published
			}
			for other, by := range seen {
				op := other[strings.LastIndex(other, ":")+1:]
				if op == pc.Published && (strings.HasPrefix(other, "*:") || strings.HasPrefix(key, "*:") || other == key) {
					t.Errorf("host port %s is published by both %s and %s", pc.Published, by, name)
				}
			}
			seen[key] = name
		}
		for _, v := range s.Volumes {
			switch v.Type {
			case types.VolumeTypeBind:
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("%s mounts %s, which does not exist: %v", name, v.Source, err)
				}
			case types.VolumeTypeVolume:
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("%s uses volume %s, which is not declared", name, v.Source)
				}
			}
		}
	}
	for _, want := range []string{"*:8080", "*:3000"} {
		if _, ok := seen[want]; !ok {
			t.Errorf("nothing publishes %s (the API and Grafana are the stack's front doors)", want)
		}
	}
}

// mountOf returns the host path mounted at target in service svc.
func mountOf(t *testing.T, p *types.Project, svc, target string) string {
	t.Helper()
	for _, v := range p.Services[svc].Volumes {
		if v.Target == target {
			return v.Source
		}
	}
	t.Fatalf("%s mounts nothing at %s", svc, target)
	return ""
}

func TestObservabilityContainerIsProvisionedWithOurFiles(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	r := root(t)
	lgtm := p.Services["lgtm"]

	// Datasources: ours replace the image's, with the uid the dashboards use.
	dsFile := mountOf(t, p, "lgtm", "/otel-lgtm/grafana/conf/provisioning/datasources/grafana-datasources.yaml")
	var ds struct {
		Datasources []struct{ Name, Type, UID string } `yaml:"datasources"`
	}
	readYAML(t, dsFile, &ds)
	uids := map[string]string{}
	for _, d := range ds.Datasources {
		uids[d.UID] = d.Type
	}
	if uids[grafana.DatasourceUID] != "prometheus" {
		t.Fatalf("no prometheus datasource with uid %q in %s", grafana.DatasourceUID, dsFile)
	}

	// Dashboards: the provider's path is where compose mounts ops/grafana/dashboards.
	var prov struct {
		Providers []struct {
			Options struct{ Path string } `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, mountOf(t, p, "lgtm", "/otel-lgtm/grafana/conf/provisioning/dashboards/brisk.yaml"), &prov)
	if len(prov.Providers) != 1 {
		t.Fatalf("want one dashboard provider, got %d", len(prov.Providers))
	}
	dashDir := mountOf(t, p, "lgtm", prov.Providers[0].Options.Path)
	if dashDir != filepath.Join(r, "ops", "grafana", "dashboards") {
		t.Fatalf("the provider's path %s holds %s, want ops/grafana/dashboards", prov.Providers[0].Options.Path, dashDir)
	}
	home := lgtm.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	if home == nil || path.Dir(*home) != prov.Providers[0].Options.Path {
		t.Fatalf("Grafana's home dashboard %v is not one of ours", home)
	}
	var homeBoard struct{ UID string }
	readJSON(t, filepath.Join(dashDir, path.Base(*home)), &homeBoard)
	if homeBoard.UID != "brisk-api" {
		t.Fatalf("Grafana opens on %q, want the API dashboard", homeBoard.UID)
	}
	// Every panel's datasource is provisioned.
	files, _ := filepath.Glob(filepath.Join(dashDir, "*.json"))
	for _, f := range files {
		var d struct {
			Panels []struct {
				Title      string
				Datasource *struct{ UID string } `json:"datasource"`
			}
		}
		readJSON(t, f, &d)
		for _, pn := range d.Panels {
			if pn.Datasource != nil && uids[pn.Datasource.UID] == "" {
				t.Errorf("%s: panel %q uses datasource %q, which is not provisioned", filepath.Base(f), pn.Title, pn.Datasource.UID)
			}
		}
	}

	// Prometheus scrapes each app's admin listener under the job name the dashboards use.
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, mountOf(t, p, "lgtm", "/otel-lgtm/prometheus.yaml"), &prom)
	jobs := map[string]string{grafana.APIJob: "api", grafana.WorkerJob: "worker"}
	for _, sc := range prom.ScrapeConfigs {
		svc, ok := jobs[sc.JobName]
		if !ok {
			t.Errorf("scrape job %q is not one the dashboards read", sc.JobName)
			continue
		}
		delete(jobs, sc.JobName)
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				if err != nil || host != svc {
					t.Errorf("job %s scrapes %q, want the %s service", sc.JobName, target, svc)
					continue
				}
				admin := p.Services[svc].Environment["ADMIN_ADDR"]
				if admin == nil || !strings.HasSuffix(*admin, ":"+port) {
					t.Errorf("job %s scrapes port %s, but %s's ADMIN_ADDR is %v", sc.JobName, port, svc, admin)
				}
			}
		}
	}
	for job := range jobs {
		t.Errorf("Prometheus does not scrape %s", job)
	}
	if ep := p.Services["api"].Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]; ep == nil || !strings.Contains(*ep, "//lgtm:4318") {
		t.Errorf("the api's traces do not go to the lgtm container's OTLP/HTTP port: %v", ep)
	}
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func TestDockerfiles(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	r := root(t)
	modules := workspaceModules(t, r)
	for name := range appServices {
		b := p.Services[name].Build
		if b == nil {
			t.Errorf("%s is not built from a Dockerfile", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			if b.Target == "" {
				t.Fatalf("%s names no build target: the Dockerfile builds both apps' images", name)
			}
			if want := string(appServices[name]); b.Target != want {
				t.Fatalf("%s builds target %q, want %q (the app it runs)", name, b.Target, want)
			}
			checkDockerfile(t, b.Context, filepath.Join(b.Context, b.Dockerfile), b.Target, modules, p.Services[name])
		})
	}
}

// workspaceModules lists the directories of go.work's use lines, relative to the root.
func workspaceModules(t *testing.T, r string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := modfile.ParseWork("go.work", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, u := range wf.Use {
		dirs = append(dirs, path.Clean(u.Path))
	}
	return dirs
}

// parseDockerfile parses a Dockerfile into its stages with BuildKit's own parser.
func parseDockerfile(t *testing.T, file string) []instructions.Stage {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s does not parse: %v", file, err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return stages
}

// stageChain returns the stages an image built with --target is made of, base first: the
// target, the stage it is FROM, and so on up to an external image.
func stageChain(t *testing.T, stages []instructions.Stage, target string) []instructions.Stage {
	t.Helper()
	byName := map[string]instructions.Stage{}
	for _, st := range stages {
		byName[strings.ToLower(st.Name)] = st
	}
	var chain []instructions.Stage
	for name := strings.ToLower(target); ; {
		st, ok := byName[name]
		if !ok {
			break
		}
		if len(chain) > len(stages) {
			t.Fatalf("stage %s is FROM itself", name)
		}
		chain = append([]instructions.Stage{st}, chain...)
		name = strings.ToLower(st.BaseName)
	}
	if len(chain) == 0 {
		t.Fatalf("no stage is named %q", target)
	}
	return chain
}

func checkDockerfile(t *testing.T, ctxDir, file, target string, modules []string, svc types.ServiceConfig) {
	stages := parseDockerfile(t, file)
	if len(stages) < 2 {
		t.Fatalf("%s has %d stage(s); want a build stage and a small runtime stage", file, len(stages))
	}
	ignore := dockerignore(t, file)

	// Every stage: COPY sources exist and are not ignored, --from names an earlier stage, the
	// build stage copies every module and turns cgo off.
	stageNames := map[string]bool{}
	var copiedModules []string
	var cgoOff bool
	for _, st := range stages {
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if kv.Key == "CGO_ENABLED" && kv.Value == "0" {
						cgoOff = true
					}
				}
			case *instructions.CopyCommand:
				if c.From != "" {
					if !stageNames[c.From] {
						t.Errorf("COPY --from=%s names no earlier stage", c.From)
					}
					continue
				}
				for _, src := range c.SourcePaths {
					checkCopySource(t, ctxDir, src, ignore)
					if strings.HasSuffix(src, "/go.mod") {
						copiedModules = append(copiedModules, path.Dir(src))
					}
				}
			}
		}
		if st.Name != "" {
			stageNames[st.Name] = true
		}
	}
	// The image itself (the target and the stages it is FROM): an unprivileged user and an
	// ENTRYPOINT that is the app's binary, copied from the build stage.
	var user string
	var entrypoint, binaries []string
	for _, st := range stageChain(t, stages, target) {
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.UserCommand:
				user = c.User
			case *instructions.EntrypointCommand:
				entrypoint = c.CmdLine
			case *instructions.CopyCommand:
				if c.From != "" {
					binaries = append(binaries, c.DestPath)
				}
			}
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("the %s image runs as %q; want an unprivileged user", target, user)
	}
	if len(entrypoint) == 0 || !slices.Contains(binaries, entrypoint[0]) {
		t.Errorf("the %s image's ENTRYPOINT %v is not the binary copied from the build stage (%v)", target, entrypoint, binaries)
	} else if path.Base(entrypoint[0]) != target {
		t.Errorf("the %s image runs %s", target, entrypoint[0])
	}
	if !cgoOff {
		t.Error("the build stage does not set CGO_ENABLED=0: the binary would not be static")
	}
	// go build in workspace mode needs every module of go.work present.
	for _, m := range modules {
		if !slices.Contains(copiedModules, m) {
			t.Errorf("go.work uses %s, but its go.mod is not copied into the build stage", m)
		}
	}
	if svc.Image == "" {
		t.Error("no image name: migrate and api would build the same image twice under different names")
	}
}

// dockerignore reads the Dockerfile-specific ignore file BuildKit uses (<Dockerfile>.dockerignore).
func dockerignore(t *testing.T, dockerfile string) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open(dockerfile + ".dockerignore")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// checkCopySource fails when a COPY source is missing from the context or excluded from it.
func checkCopySource(t *testing.T, ctxDir, src string, ignore *patternmatcher.PatternMatcher) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(ctxDir, filepath.FromSlash(src)))
	if err != nil || len(matches) == 0 {
		t.Errorf("COPY %s: not in the build context %s", src, ctxDir)
		return
	}
	if ignore == nil {
		return
	}
	for _, m := range matches {
		rel, _ := filepath.Rel(ctxDir, m)
		rel = filepath.ToSlash(rel)
		included := false
		_ = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || included {
				return nil
			}
			r, _ := filepath.Rel(ctxDir, p)
			if ok, _ := ignore.MatchesOrParentMatches(filepath.ToSlash(r)); !ok {
				included = true
			}
			return nil
		})
		if !included {
			t.Errorf("COPY %s: %s is excluded by the .dockerignore", src, rel)
		}
	}
}

// The operator's menu drives this stack: up waits for health, and every task parses.
func TestTaskfileDrivesTheStack(t *testing.T) {
	t.Parallel()
	var tf struct {
		Tasks map[string]struct {
			Desc string `yaml:"desc"`
			// A command is a shell line or a call of another task ({task: name}).
			Cmds []any `yaml:"cmds"`
		} `yaml:"tasks"`
	}
	readYAML(t, filepath.Join(root(t), "Taskfile.yml"), &tf)
	want := map[string]string{
		"up":   "docker compose up --detach --build --wait",
		"down": "docker compose down",
		"logs": "docker compose logs",
		"load": "go run ./ops/load",
	}
	for name, prefix := range want {
		task, ok := tf.Tasks[name]
		if !ok || task.Desc == "" {
			t.Errorf("task %s is missing or has no description", name)
			continue
		}
		if !slices.ContainsFunc(task.Cmds, func(c any) bool { s, ok := c.(string); return ok && strings.HasPrefix(s, prefix) }) {
			t.Errorf("task %s does not run %q: %v", name, prefix, task.Cmds)
		}
	}
	if _, err := os.Stat(filepath.Join(root(t), "ops", "load", "main.go")); err != nil {
		t.Errorf("task load: %v", err)
	}
}

// Without a Docker engine, redo each image's build stage by hand: copy what its COPY lines
// copy (minus the .dockerignore) into an empty directory and load the app's whole package graph
// there with cgo off, offline. A source file the Dockerfile forgets to copy fails here, not on someone's laptop.
func TestBuildStageFilesMakeABuildableApp(t *testing.T) {
	t.Parallel()
	r := root(t)
	for _, app := range []string{"api", "worker"} {
		t.Run(app, func(t *testing.T) {
			dockerfile := filepath.Join(r, "Dockerfile")
			stages := parseDockerfile(t, dockerfile)
			ignore := dockerignore(t, dockerfile)
			dst := t.TempDir()
			// The stage the app's image copies its binary from.
			var from string
			for _, st := range stageChain(t, stages, app) {
				for _, c := range st.Commands {
					if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
						from = cp.From
					}
				}
			}
			build := stageChain(t, stages, from)
			for _, c := range build[len(build)-1].Commands {
				cp, ok := c.(*instructions.CopyCommand)
				if !ok || cp.From != "" {
					continue
				}
				for _, src := range cp.SourcePaths {
					matches, _ := filepath.Glob(filepath.Join(r, filepath.FromSlash(src)))
					for _, m := range matches {
						copyInto(t, r, m, filepath.Join(dst, filepath.FromSlash(cp.DestPath)), strings.HasSuffix(cp.DestPath, "/"), ignore)
					}
				}
			}
			// go list resolves every import and embed pattern without compiling (a build in a
			// fresh directory shares no cache and takes minutes): a missing file is an error.
			cmd := exec.Command("go", "list", "-e", "-deps",
				"-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}\n{{end}}{{range .DepsErrors}}{{.}}\n{{end}}", "./apps/"+app)
			cmd.Dir = dst
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOPROXY=off", "GOWORK=")
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "" {
				t.Fatalf("the build stage's files do not make a buildable %s: %v\n%s", app, err, out)
			}
		})
	}
}

// copyInto copies src (a file or a tree) the way COPY does: a file into dest (or dest/base
// when dest names a directory), a directory's contents into dest. Ignored paths are skipped.
func copyInto(t *testing.T, ctxDir, src, dest string, destIsDir bool, ignore *patternmatcher.PatternMatcher) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ctxDir, p)
		if ignore != nil {
			if skip, _ := ignore.MatchesOrParentMatches(filepath.ToSlash(rel)); skip {
				return nil
			}
		}
		target := dest
		if p != src {
			inner, _ := filepath.Rel(src, p)
			target = filepath.Join(dest, inner)
		} else if destIsDir {
			target = filepath.Join(dest, filepath.Base(p))
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
