-- Gold: one row per number of clusters k tried: its silhouette, its stability (ARI of refits on
-- 80% subsamples with other seeds), whether it is stable (ARI >= 0.9), whether it was chosen, and why.
-- When no k is stable the chosen row says is_stable = false: an unstable clustering is shipped flagged.
with

clusters as (

    select * from {{ ref('int_customer_clusters') }}

),

per_k as (

    select
        k,
        any_value(silhouette) as silhouette,
        any_value(stability_ari) as stability_ari,
        bool_and(is_stable) as is_stable,
        bool_or(chosen) as chosen,
        max(reason) as reason
    from clusters
    group by k

)

select
    k,
    round(silhouette, 6) as silhouette,
    round(stability_ari, 6) as stability_ari,
    is_stable,
    chosen,
    reason
from per_k
