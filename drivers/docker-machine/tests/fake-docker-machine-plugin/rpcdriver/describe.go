package rpcdriver

import (
	"fmt"
	"sort"
	"strings"
)

// describeOptions renders the flag values a SetConfigFromFlags call carried, one
// "key=type:value" per key in key order, so that tests can assert exactly what Go decoded.
func describeOptions(opts DriverOptions) string {
	flags, ok := opts.(*RPCFlags)
	if !ok {
		return fmt.Sprintf("unexpected options type %T", opts)
	}
	keys := make([]string, 0, len(flags.Values))
	for key := range flags.Values {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, key := range keys {
		parts = append(parts, key+"="+describeValue(flags.Values[key]))
	}
	return strings.Join(parts, " ")
}

func describeValue(value interface{}) string {
	switch v := value.(type) {
	case nil:
		return "nil"
	case string:
		return fmt.Sprintf("string:%q", v)
	case int:
		return fmt.Sprintf("int:%d", v)
	case bool:
		return fmt.Sprintf("bool:%t", v)
	case []string:
		return fmt.Sprintf("[]string:%q", v)
	default:
		return fmt.Sprintf("%T:%v", v, v)
	}
}
