// Package gen turns spec/actions.json into the typed request/response
// structs and Client methods of package tcsms (models_gen.go).
//
// Rules:
//   - Request fields marked required are plain values (always sent, so 0 and
//     "" reach the service); optional scalars are pointers with omitempty and
//     optional arrays are slices with omitzero (nil = not sent, an empty
//     non-nil slice is sent as []).
//   - Response fields and output-struct fields that the service always
//     returns are plain values; the others are pointers.
//   - Integers are uint64 or int64 following integer_kind.
//   - ReportConversionRequest.ConversionTime is a plain uint64 where 0 means
//     "not sent" (a conversion at the Unix epoch is meaningless), so the
//     documented example ConversionTime: 1658310430 compiles.
//   - Every action except ReportConversion gets a generated method;
//     ReportConversion is written by hand (it uses tcsms_report_conversion).
package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"sort"
	"strings"
)

// Spec is the part of spec/actions.json the generator reads.
type Spec struct {
	Meta struct {
		Service    string `json:"service"`
		APIVersion string `json:"api_version"`
	} `json:"meta"`
	Actions   []Action            `json:"actions"`
	DataTypes map[string]DataType `json:"data_types"`
}

// Action is one API action.
type Action struct {
	Name           string  `json:"name"`
	Description    string  `json:"description"`
	RequestStruct  string  `json:"request_struct"`
	ResponseStruct string  `json:"response_struct"`
	RequestFields  []Field `json:"request_fields"`
	ResponseFields []Field `json:"response_fields"`
}

// DataType is a named struct used inside requests or responses.
type DataType struct {
	Usage       string  `json:"usage"`
	Description string  `json:"description"`
	Fields      []Field `json:"fields"`
}

// Field is one field of a request, response or data type.
type Field struct {
	Name                  string `json:"name"`
	Type                  string `json:"type"`
	IntegerKind           string `json:"integer_kind"`
	Required              string `json:"required"`
	AlwaysPresent         string `json:"always_present"`
	RequiredWhenSent      string `json:"required_when_sent"`
	AlwaysPresentInOutput string `json:"always_present_in_output"`
	Description           string `json:"description"`
}

// HandWritten lists actions whose Client method is not generated.
var HandWritten = map[string]bool{"ReportConversion": true}

// valueOptional lists optional request fields generated as plain values
// with omitempty (zero = not sent) instead of pointers.
var valueOptional = map[string]bool{"ReportConversionRequest.ConversionTime": true}

// ParseSpec decodes spec/actions.json.
func ParseSpec(data []byte) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse spec: %w", err)
	}
	if len(s.Actions) == 0 {
		return nil, fmt.Errorf("parse spec: no actions")
	}
	return &s, nil
}

// GoType maps a spec type to its Go element type (without pointer).
func GoType(f Field) (string, error) {
	t := f.Type
	if strings.HasPrefix(t, "Array of ") {
		inner, err := GoType(Field{Type: strings.TrimPrefix(t, "Array of "), IntegerKind: f.IntegerKind})
		if err != nil {
			return "", err
		}
		return "[]" + inner, nil
	}
	switch t {
	case "String":
		return "string", nil
	case "Boolean":
		return "bool", nil
	case "Float":
		return "float64", nil
	case "Integer":
		switch f.IntegerKind {
		case "uint64":
			return "uint64", nil
		case "int64":
			return "int64", nil
		default:
			return "", fmt.Errorf("field %s: unknown integer_kind %q", f.Name, f.IntegerKind)
		}
	}
	if t == "" || strings.ContainsAny(t, " <>") {
		return "", fmt.Errorf("field %s: unsupported type %q", f.Name, t)
	}
	return t, nil
}

type fieldMode int

const (
	modeValue         fieldMode = iota // always sent / always present
	modeOptional                       // pointer + omitempty, or slice + omitzero
	modeValueOptional                  // value + omitempty (zero = not sent)
)

func writeField(b *bytes.Buffer, owner string, f Field, mode fieldMode) error {
	gt, err := GoType(f)
	if err != nil {
		return fmt.Errorf("%s: %w", owner, err)
	}
	if d := strings.TrimSpace(f.Description); d != "" {
		for _, line := range wrap(d, 74) {
			fmt.Fprintf(b, "\t// %s\n", line)
		}
	}
	if mode == modeValueOptional {
		b.WriteString("\t// Zero means the field is not sent.\n")
	}
	tag := f.Name
	switch mode {
	case modeOptional:
		if strings.HasPrefix(gt, "[]") {
			tag += ",omitzero"
		} else {
			gt = "*" + gt
			tag += ",omitempty"
		}
	case modeValueOptional:
		tag += ",omitempty"
	}
	fmt.Fprintf(b, "\t%s %s `json:%q`\n", f.Name, gt, tag)
	return nil
}

func yes(s string) bool { return s == "yes" }

// Generate renders models_gen.go for the given spec.
func Generate(specJSON []byte) ([]byte, error) {
	s, err := ParseSpec(specJSON)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/gen/cmd/tcsms-gen from spec/actions.json; DO NOT EDIT.\n\n")
	b.WriteString("package tcsms\n\n")
	if len(s.Actions) > len(HandWritten) {
		b.WriteString("import \"context\"\n\n")
	}
	fmt.Fprintf(&b, "// APIVersion is the %s API version the models follow.\n", s.Meta.Service)
	fmt.Fprintf(&b, "const APIVersion = %q\n\n", s.Meta.APIVersion)

	// Action list.
	b.WriteString("// Actions lists every action of the API, in spec order.\n")
	b.WriteString("var Actions = []string{\n")
	for _, a := range s.Actions {
		fmt.Fprintf(&b, "\t%q,\n", a.Name)
	}
	b.WriteString("}\n\n")

	for _, a := range s.Actions {
		// Request.
		fmt.Fprintf(&b, "// %s is the request of %s.\n", a.RequestStruct, a.Name)
		b.WriteString("// Optional fields left nil are not sent.\n")
		fmt.Fprintf(&b, "type %s struct {\n", a.RequestStruct)
		for _, f := range a.RequestFields {
			mode := modeValue
			if !yes(f.Required) {
				mode = modeOptional
				if valueOptional[a.RequestStruct+"."+f.Name] {
					mode = modeValueOptional
				}
			}
			if err := writeField(&b, a.RequestStruct, f, mode); err != nil {
				return nil, err
			}
		}
		b.WriteString("}\n\n")

		// Response.
		fmt.Fprintf(&b, "// %s is the response of %s (the object inside \"Response\").\n", a.ResponseStruct, a.Name)
		fmt.Fprintf(&b, "type %s struct {\n", a.ResponseStruct)
		for _, f := range a.ResponseFields {
			mode := modeValue
			if !yes(f.AlwaysPresent) {
				mode = modeOptional
			}
			if err := writeField(&b, a.ResponseStruct, f, mode); err != nil {
				return nil, err
			}
		}
		b.WriteString("}\n\n")

		if HandWritten[a.Name] {
			continue
		}
		for _, line := range wrap(fmt.Sprintf("%s calls the %s action: %s", a.Name, a.Name, a.Description), 76) {
			fmt.Fprintf(&b, "// %s\n", line)
		}
		fmt.Fprintf(&b, "func (c *Client) %s(ctx context.Context, req *%s) (*%s, error) {\n", a.Name, a.RequestStruct, a.ResponseStruct)
		fmt.Fprintf(&b, "\tvar resp %s\n", a.ResponseStruct)
		fmt.Fprintf(&b, "\tif err := c.call(ctx, %q, requestOrEmpty(req), &resp); err != nil {\n\t\treturn nil, err\n\t}\n", a.Name)
		b.WriteString("\treturn &resp, nil\n}\n\n")
	}

	// Data types, sorted by name.
	names := make([]string, 0, len(s.DataTypes))
	for n := range s.DataTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		dt := s.DataTypes[n]
		desc := strings.TrimSpace(dt.Description)
		if desc == "" {
			desc = "is a data type of the API."
		}
		for _, line := range wrap(fmt.Sprintf("%s (%s): %s", n, usageText(dt.Usage), desc), 76) {
			fmt.Fprintf(&b, "// %s\n", line)
		}
		fmt.Fprintf(&b, "type %s struct {\n", n)
		for _, f := range dt.Fields {
			mode := modeValue
			if dt.Usage == "in" {
				if !yes(f.RequiredWhenSent) {
					mode = modeOptional
				}
			} else if !yes(f.AlwaysPresentInOutput) {
				mode = modeOptional
			}
			if err := writeField(&b, n, f, mode); err != nil {
				return nil, err
			}
		}
		b.WriteString("}\n\n")
	}

	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("gofmt generated code: %w", err)
	}
	return out, nil
}

func usageText(u string) string {
	switch u {
	case "in":
		return "request data"
	case "out":
		return "response data"
	default:
		return "request and response data"
	}
}

// wrap splits text into lines of at most width runes at spaces.
func wrap(text string, width int) []string {
	words := strings.Fields(text)
	var lines []string
	var cur []rune
	for _, w := range words {
		wr := []rune(w)
		if len(cur) > 0 && len(cur)+1+len(wr) > width {
			lines = append(lines, string(cur))
			cur = nil
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		cur = append(cur, wr...)
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
