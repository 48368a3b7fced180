;; Runs forever: prints "tick <n>" to stdout every 200 ms (sleeping in poll_oneoff).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "tick ")
  ;; buffer at 256: "tick " + up to 10 digits + "\n"
  (func $digits (param $n i32) (param $at i32) (result i32)
    (local $len i32) (local $tmp i32) (local $i i32)
    ;; count digits
    (local.set $tmp (local.get $n))
    (local.set $len (i32.const 1))
    (block $done (loop $count
      (br_if $done (i32.lt_u (local.get $tmp) (i32.const 10)))
      (local.set $tmp (i32.div_u (local.get $tmp) (i32.const 10)))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (br $count)))
    ;; write from the end
    (local.set $i (local.get $len))
    (local.set $tmp (local.get $n))
    (loop $write
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (local.get $at) (local.get $i))
        (i32.add (i32.const 48) (i32.rem_u (local.get $tmp) (i32.const 10))))
      (local.set $tmp (i32.div_u (local.get $tmp) (i32.const 10)))
      (br_if $write (i32.gt_u (local.get $i) (i32.const 0))))
    (local.get $len))
  (func (export "_start")
    (local $n i32) (local $len i32)
    ;; clock subscription at 512: userdata 0, tag 0 (clock), id 1 (monotonic), timeout 200ms, flags 0 (relative)
    (i32.store8 (i32.const 520) (i32.const 0))
    (i32.store (i32.const 528) (i32.const 1))
    (i64.store (i32.const 536) (i64.const 200000000))
    (i64.store (i32.const 544) (i64.const 1000))
    (i32.store16 (i32.const 552) (i32.const 0))
    (loop $forever
      (local.set $len (call $digits (local.get $n) (i32.const 261)))
      (i32.store8 (i32.add (i32.const 261) (local.get $len)) (i32.const 10))
      (i32.store (i32.const 0) (i32.const 256))
      (i32.store (i32.const 4) (i32.add (local.get $len) (i32.const 6)))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $poll (i32.const 512) (i32.const 640) (i32.const 1) (i32.const 16)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $forever))))
