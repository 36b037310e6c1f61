package container

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// selectContainers lists the containers opts selects, running or not. Labels
// are filtered by the engine (its label filters AND); names and ids here,
// because the engine's name filter is an unanchored regular expression and
// its id filter is not a prefix match.
func selectContainers(ctx context.Context, cli client.APIClient, opts Options) ([]container.Summary, error) {
	args := filters.NewArgs()
	for _, l := range opts.Labels {
		args.Add("label", l)
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, err
	}
	match, err := selector(opts)
	if err != nil {
		return nil, err
	}
	var out []container.Summary
	for _, c := range list {
		if match(c) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return summaryName(out[i]) < summaryName(out[j]) })
	return out, nil
}

// selector returns the predicate for --name and --id: a container matching
// any of them is selected; with neither, every container (that the label
// filter let through) is.
func selector(opts Options) (func(container.Summary) bool, error) {
	if len(opts.Names) == 0 && len(opts.IDs) == 0 {
		return func(container.Summary) bool { return true }, nil
	}
	var patterns []*regexp.Regexp
	if opts.NameRegex {
		for _, n := range opts.Names {
			re, err := regexp.Compile(n)
			if err != nil {
				return nil, fmt.Errorf("--name %q: %w", n, err)
			}
			patterns = append(patterns, re)
		}
	}
	return func(c container.Summary) bool {
		for _, id := range opts.IDs {
			if id != "" && strings.HasPrefix(c.ID, strings.ToLower(id)) {
				return true
			}
		}
		for _, name := range c.Names {
			name = strings.TrimPrefix(name, "/")
			if opts.NameRegex {
				for _, re := range patterns {
					if re.MatchString(name) {
						return true
					}
				}
			} else if contains(opts.Names, name) {
				return true
			}
		}
		return false
	}, nil
}

func summaryName(c container.Summary) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return shortID(c.ID)
}

// describeSelection renders the selection for messages: name=model-api,
// label=app=llm.
func describeSelection(opts Options) string {
	var parts []string
	if opts.All {
		parts = append(parts, "all")
	}
	key := "name="
	if opts.NameRegex {
		key = "name~"
	}
	for _, n := range opts.Names {
		parts = append(parts, key+n)
	}
	for _, id := range opts.IDs {
		parts = append(parts, "id="+id)
	}
	for _, l := range opts.Labels {
		parts = append(parts, "label="+l)
	}
	return strings.Join(parts, " ")
}
