{
  "variables": {
    # 1 for the prebuilt addons shipped in the npm package (bpf/prebuild.sh): libbpf, libelf and zlib
    # linked from their static archives, so the host needs only libc
    "static_libs%": 0,
    # with static_libs: the folder of the libbpf.a and libelf.a whose objects fit in a shared object
    "static_lib_dir%": ""
  },
  "targets": [
    {
      "target_name": "tcptop_bpf",
      "sources": ["src/addon.c"],
      "include_dirs": [".", "<(SHARED_INTERMEDIATE_DIR)"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["static_libs==1", {
          # -l:libz.a takes the archive from the (multiarch) library path; --exclude-libs keeps the
          # archives' symbols out of the addon's dynamic symbol table
          "libraries": ["<(static_lib_dir)/libbpf.a", "<(static_lib_dir)/libelf.a", "-l:libz.a"],
          "ldflags": ["-Wl,--exclude-libs,ALL", "-Wl,--strip-debug"]
        }, {
          "libraries": ["-lbpf", "-lelf", "-lz"]
        }]
      ],
      "actions": [
        {
          "action_name": "bpf_skeleton",
          "inputs": ["tcptop.bpf.c", "tcptop.h", "vmlinux.h", "arch/arm64.h", "build-bpf.sh"],
          "outputs": ["<(SHARED_INTERMEDIATE_DIR)/tcptop.skel.h"],
          "action": ["sh", "build-bpf.sh", "<(SHARED_INTERMEDIATE_DIR)", "<(target_arch)"]
        }
      ]
    }
  ]
}
