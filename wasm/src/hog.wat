;; Grows its linear memory 1 MiB at a time and touches every page, forever
;; (until the memory limit kills it; exits 3 if the 4 GiB wasm limit is hit first).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "allocating\n")
  (func (export "_start")
    (local $old i32) (local $addr i32) (local $end i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $grow
      (local.set $old (memory.grow (i32.const 16)))
      (if (i32.eq (local.get $old) (i32.const -1)) (then (call $exit (i32.const 3))))
      (local.set $addr (i32.mul (local.get $old) (i32.const 65536)))
      (local.set $end (i32.add (local.get $addr) (i32.const 1048576)))
      (loop $touch
        (i32.store (local.get $addr) (local.get $addr))
        (local.set $addr (i32.add (local.get $addr) (i32.const 4096)))
        (br_if $touch (i32.lt_u (local.get $addr) (local.get $end))))
      (br $grow))))
