# Writes tcsmsConfigVersion.cmake with CMake's own helper. Run by scripts/install.sh:
#   cmake -DVERSION=0.1.0 -DOUT=.../tcsmsConfigVersion.cmake -P write-version.cmake
# 0.x releases are compatible within a minor series, 1.x and later within a major.
include(CMakePackageConfigHelpers)
if(VERSION VERSION_LESS 1)
  set(_compat SameMinorVersion)
else()
  set(_compat SameMajorVersion)
endif()
write_basic_package_version_file("${OUT}" VERSION "${VERSION}" COMPATIBILITY ${_compat})
