-- Exactly one k is chosen.
select count(*) as chosen_rows
from {{ ref('cluster_k_choice') }}
where chosen
having count(*) != 1
