-- wrk sends the ReportConversion body tcsms sends (bench/run.sh).
wrk.method = "POST"
wrk.body = '{"SmsSdkAppId":"1400000001","SerialNo":"2433:1045710669157053657849499619","ConversionTime":1700000000}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-TC-Action"] = "ReportConversion"
