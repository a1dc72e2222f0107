{
  "targets": [
    {
      "target_name": "tcptop_bpf",
      "sources": ["src/addon.c"],
      "include_dirs": [".", "<(SHARED_INTERMEDIATE_DIR)"],
      "libraries": ["-lbpf", "-lelf", "-lz"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "actions": [
        {
          "action_name": "bpf_skeleton",
          "inputs": ["tcptop.bpf.c", "tcptop.h", "vmlinux.h", "build-bpf.sh"],
          "outputs": ["<(SHARED_INTERMEDIATE_DIR)/tcptop.skel.h"],
          "action": ["sh", "build-bpf.sh", "<(SHARED_INTERMEDIATE_DIR)"]
        }
      ]
    }
  ]
}
