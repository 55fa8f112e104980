module github.com/tcsms/tcsms/bench/go

go 1.24

require github.com/tcsms/tcsms/bindings/go v0.0.0

require github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common v1.3.211

replace github.com/tcsms/tcsms/bindings/go => ../../bindings/go
