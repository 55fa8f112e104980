# Helpers for the scripts that drive cargo; source it (`. scripts/lib/cargo.sh`).

# tcsms_out_dir: reads the messages of `cargo build --message-format=json...` on stdin and
# prints the OUT_DIR of the tcsms library's build script, where build.rs writes tcsms.h
# (the last one, if several); prints nothing when that build script is not in the
# output. cargo names the package path+file:///dir#tcsms@V, or path+file:///dir/tcsms#V
# when the directory is called tcsms; tcsms-cli and tcsms-emulator do not match.
tcsms_out_dir() {
    sed -n -E '/"reason":"build-script-executed"/{
        /"package_id":"path\+file:\/\/[^"]*(#tcsms@|\/tcsms#)[0-9]/s/.*"out_dir":"([^"]*)".*/\1/p
    }' | tail -n 1
}
