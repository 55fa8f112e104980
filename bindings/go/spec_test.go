package tcsms

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

const specPath = "../../spec/actions.json"

// specFile is the part of spec/actions.json the tests read.
type specFile struct {
	Actions   []specAction            `json:"actions"`
	DataTypes map[string]specDataType `json:"data_types"`
}

type specAction struct {
	Name           string      `json:"name"`
	RequestStruct  string      `json:"request_struct"`
	ResponseStruct string      `json:"response_struct"`
	RequestFields  []specField `json:"request_fields"`
	ResponseFields []specField `json:"response_fields"`
}

type specDataType struct {
	Usage  string      `json:"usage"`
	Fields []specField `json:"fields"`
}

type specField struct {
	Name                  string `json:"name"`
	Type                  string `json:"type"`
	IntegerKind           string `json:"integer_kind"`
	Required              string `json:"required"`
	AlwaysPresent         string `json:"always_present"`
	RequiredWhenSent      string `json:"required_when_sent"`
	AlwaysPresentInOutput string `json:"always_present_in_output"`
}

func loadSpec(t *testing.T) (*specFile, []byte) {
	t.Helper()
	data, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatalf("read %s: %v", specPath, err)
	}
	var s specFile
	if err := json.Unmarshal(data, &s); err != nil || len(s.Actions) == 0 {
		t.Fatalf("parse %s: %v", specPath, err)
	}
	return &s, data
}

// expectedType is the Go type a spec field must have (ignoring the pointer
// of optional fields).
func expectedType(t *testing.T, f specField, types map[string]reflect.Type) reflect.Type {
	t.Helper()
	typ := f.Type
	if strings.HasPrefix(typ, "Array of ") {
		inner := expectedType(t, specField{Name: f.Name, Type: strings.TrimPrefix(typ, "Array of "), IntegerKind: f.IntegerKind}, types)
		if inner == nil {
			return nil
		}
		return reflect.SliceOf(inner)
	}
	switch typ {
	case "String":
		return reflect.TypeOf("")
	case "Boolean":
		return reflect.TypeOf(false)
	case "Integer":
		switch f.IntegerKind {
		case "uint64":
			return reflect.TypeOf(uint64(0))
		case "int64":
			return reflect.TypeOf(int64(0))
		}
		t.Errorf("field %s: integer without a known integer_kind (%q)", f.Name, f.IntegerKind)
		return nil
	}
	if rt, ok := types[typ]; ok {
		return rt
	}
	t.Errorf("field %s: data type %s has no Go struct reachable from the action methods", f.Name, typ)
	return nil
}

// collectStructs records every named struct reachable from rt.
func collectStructs(rt reflect.Type, into map[string]reflect.Type) {
	for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice {
		rt = rt.Elem()
	}
	if rt.Kind() != reflect.Struct || rt.PkgPath() == "" {
		return
	}
	if _, seen := into[rt.Name()]; seen {
		return
	}
	into[rt.Name()] = rt
	for i := 0; i < rt.NumField(); i++ {
		collectStructs(rt.Field(i).Type, into)
	}
}

type fieldRule int

const (
	ruleRequired fieldRule = iota // value, always marshalled
	ruleOptional                  // pointer+omitempty, slice+omitzero, or value+omitempty (ConversionTime)
	rulePresent                   // output always present: value
	ruleMaybe                     // output maybe absent: pointer (or slice)
)

func checkStruct(t *testing.T, rt reflect.Type, fields []specField, rule func(specField) fieldRule, types map[string]reflect.Type) {
	t.Helper()
	if rt.NumField() != len(fields) {
		t.Errorf("%s: %d Go fields, spec has %d", rt.Name(), rt.NumField(), len(fields))
	}
	for _, f := range fields {
		sf, ok := rt.FieldByName(f.Name)
		if !ok {
			t.Errorf("%s: missing field %s", rt.Name(), f.Name)
			continue
		}
		tag := sf.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name != f.Name {
			t.Errorf("%s.%s: json name %q", rt.Name(), f.Name, name)
		}
		want := expectedType(t, f, types)
		if want == nil {
			continue
		}
		got := sf.Type
		isPtr := got.Kind() == reflect.Pointer
		if isPtr {
			got = got.Elem()
		}
		if got != want {
			t.Errorf("%s.%s: Go type %v, spec says %s (%s) -> %v", rt.Name(), f.Name, sf.Type, f.Type, f.IntegerKind, want)
		}
		isSlice := got.Kind() == reflect.Slice
		switch rule(f) {
		case ruleRequired, rulePresent:
			if isPtr || opts != "" {
				t.Errorf("%s.%s: must be a plain value without omitempty (tag %q)", rt.Name(), f.Name, tag)
			}
		case ruleOptional:
			switch {
			case isSlice && !isPtr && opts == "omitzero":
			case isPtr && opts == "omitempty":
			case rt.Name()+"."+f.Name == "ReportConversionRequest.ConversionTime" && opts == "omitempty":
			default:
				t.Errorf("%s.%s: optional field must be *T,omitempty or []T,omitzero (type %v tag %q)", rt.Name(), f.Name, sf.Type, tag)
			}
		case ruleMaybe:
			if !(isPtr || isSlice) || !strings.Contains(opts, "omit") {
				t.Errorf("%s.%s: maybe-absent output field must be a pointer or slice with omitempty (type %v tag %q)", rt.Name(), f.Name, sf.Type, tag)
			}
		}
	}
}

// TestSpecCoverage checks against spec/actions.json that every action has a
// method taking and returning the typed structs, and that every field and
// data type is present with the right name, type, integer kind and
// optionality.
func TestSpecCoverage(t *testing.T) {
	s, _ := loadSpec(t)
	if len(s.Actions) != 19 {
		t.Errorf("spec has %d actions, want 19", len(s.Actions))
	}
	if !reflect.DeepEqual(func() []string {
		var n []string
		for _, a := range s.Actions {
			n = append(n, a.Name)
		}
		return n
	}(), Actions) {
		t.Errorf("Actions = %v does not match the spec", Actions)
	}
	clientT := reflect.TypeOf(&Client{})
	ctxT := reflect.TypeOf((*context.Context)(nil)).Elem()
	errT := reflect.TypeOf((*error)(nil)).Elem()
	types := map[string]reflect.Type{}
	type pair struct{ req, resp reflect.Type }
	pairs := map[string]pair{}
	for _, a := range s.Actions {
		m, ok := clientT.MethodByName(a.Name)
		if !ok {
			t.Errorf("(*Client).%s is missing", a.Name)
			continue
		}
		mt := m.Type
		if mt.NumIn() != 3 || mt.In(1) != ctxT || mt.In(2).Kind() != reflect.Pointer ||
			mt.NumOut() != 2 || mt.Out(0).Kind() != reflect.Pointer || mt.Out(1) != errT {
			t.Errorf("(*Client).%s has signature %v, want func(context.Context, *%s) (*%s, error)", a.Name, mt, a.RequestStruct, a.ResponseStruct)
			continue
		}
		req, resp := mt.In(2).Elem(), mt.Out(0).Elem()
		if req.Name() != a.RequestStruct || resp.Name() != a.ResponseStruct {
			t.Errorf("(*Client).%s uses %s/%s, spec says %s/%s", a.Name, req.Name(), resp.Name(), a.RequestStruct, a.ResponseStruct)
		}
		collectStructs(req, types)
		collectStructs(resp, types)
		pairs[a.Name] = pair{req, resp}
	}
	for _, a := range s.Actions {
		p, ok := pairs[a.Name]
		if !ok {
			continue
		}
		checkStruct(t, p.req, a.RequestFields, func(f specField) fieldRule {
			if f.Required == "yes" {
				return ruleRequired
			}
			return ruleOptional
		}, types)
		checkStruct(t, p.resp, a.ResponseFields, func(f specField) fieldRule {
			if f.AlwaysPresent == "yes" {
				return rulePresent
			}
			return ruleMaybe
		}, types)
	}
	for name, dt := range s.DataTypes {
		rt, ok := types[name]
		if !ok {
			t.Errorf("data type %s: no Go struct reachable from the action methods", name)
			continue
		}
		checkStruct(t, rt, dt.Fields, func(f specField) fieldRule {
			if dt.Usage == "in" {
				if f.RequiredWhenSent == "yes" {
					return ruleRequired
				}
				return ruleOptional
			}
			if f.AlwaysPresentInOutput == "yes" {
				return rulePresent
			}
			return ruleMaybe
		}, types)
	}
	for name := range types {
		if _, ok := s.DataTypes[name]; !ok && !strings.HasSuffix(name, "Request") && !strings.HasSuffix(name, "Response") {
			t.Errorf("Go struct %s is not a data type of the spec", name)
		}
	}
}

// TestDocExamples: every documented request body decodes into its request
// struct without unknown fields and marshals back to the same JSON; every
// documented response decodes into its response struct without unknown
// fields.
func TestDocExamples(t *testing.T) {
	var raw struct {
		Actions []struct {
			Name        string `json:"name"`
			DocExamples []struct {
				RequestBody json.RawMessage `json:"request_body"`
				Response    json.RawMessage `json:"response"`
			} `json:"doc_examples"`
		} `json:"actions"`
	}
	_, data := loadSpec(t)
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	clientT := reflect.TypeOf(&Client{})
	n := 0
	for _, a := range raw.Actions {
		m, ok := clientT.MethodByName(a.Name)
		if !ok {
			t.Errorf("no method %s", a.Name)
			continue
		}
		reqT, respT := m.Type.In(2).Elem(), m.Type.Out(0).Elem()
		for i, ex := range a.DocExamples {
			n++
			if len(ex.RequestBody) > 0 {
				req := reflect.New(reqT)
				dec := json.NewDecoder(bytes.NewReader(ex.RequestBody))
				dec.DisallowUnknownFields()
				if err := dec.Decode(req.Interface()); err != nil {
					t.Errorf("%s example %d: request: %v", a.Name, i, err)
				} else {
					back, err := json.Marshal(req.Interface())
					if err != nil {
						t.Fatal(err)
					}
					var want, got any
					_ = json.Unmarshal(ex.RequestBody, &want)
					_ = json.Unmarshal(back, &got)
					if !reflect.DeepEqual(want, got) {
						t.Errorf("%s example %d: request round trip\n got %s\nwant %s", a.Name, i, back, ex.RequestBody)
					}
				}
			}
			if len(ex.Response) > 0 {
				var env struct{ Response json.RawMessage }
				if err := json.Unmarshal(ex.Response, &env); err != nil {
					t.Errorf("%s example %d: response envelope: %v", a.Name, i, err)
					continue
				}
				if bytes.Contains(env.Response, []byte(`"Error"`)) {
					continue
				}
				resp := reflect.New(respT)
				dec := json.NewDecoder(bytes.NewReader(env.Response))
				dec.DisallowUnknownFields()
				if err := dec.Decode(resp.Interface()); err != nil {
					t.Errorf("%s example %d: response: %v", a.Name, i, err)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("spec has no doc_examples")
	}
}
