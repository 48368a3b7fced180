/**
 * Boolean query parameters decoded as the API server decodes them into
 * ListOptions, PatchOptions, PodLogOptions, ... (runtime.Convert_Slice_string_To_bool
 * and Convert_Slice_string_To_Pointer_bool in apimachinery): only the first
 * value counts; "0" and "false" in any case are false; anything else, even an
 * empty value, is true. So the Python client's `watch=True` and Go's `watch=1`
 * both watch, and every strconv.ParseBool spelling means what it says.
 */

/** Whether a value that is present means true (kube's rule, see the module comment). */
export function queryBoolValue(value: string): boolean {
  return value !== "0" && value.toLowerCase() !== "false";
}

/** A bool query parameter: absent is false. */
export function queryBool(params: URLSearchParams, name: string): boolean {
  return queryOptionalBool(params, name) ?? false;
}

/** A *bool query parameter: absent is undefined (kube's nil). */
export function queryOptionalBool(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  return value === null ? undefined : queryBoolValue(value);
}
