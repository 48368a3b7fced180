/**
 * The Kubernetes object types, from `kubernetes-types` (generated from the
 * Kubernetes OpenAPI), re-exported once here so the Worker, the Durable
 * Objects and the node agent all name the same wire types and never write
 * their own copies. Add a kind's type here when code first needs it.
 */

export type { LabelSelector, LabelSelectorRequirement } from "kubernetes-types/meta/v1.js";
