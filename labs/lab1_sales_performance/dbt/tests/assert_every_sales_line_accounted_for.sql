-- Nothing disappears unexplained: every staged line is either clean or an exception.

with

counts as (

    select
        (select count(*) from {{ ref('stg_sales') }}) as staged,
        (select count(*) from {{ ref('int_sales') }}) as clean,
        (select count(*) from {{ ref('int_sales_exceptions') }}) as excluded

)

select * from counts
where staged <> clean + excluded
